import io
from pathlib import Path

import pytest

from lama_serve.cli import main
from lama_serve.core.settings import Settings
from lama_serve.gateway.auth import KeyHash, KeyStore
from lama_serve.up.keys import ensure_api_key


def test_first_start_generates_a_key_shown_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    settings = Settings(generated_keys_file=tmp_path / "var/api_keys", _env_file=None)
    shown = io.StringIO()
    updated = ensure_api_key(settings, shown)
    key = shown.getvalue().split("X-API-Key: ", 1)[1].split()[0]
    stored = (tmp_path / "var/api_keys").read_text()
    assert key not in stored
    assert (tmp_path / "var/api_keys").stat().st_mode & 0o077 == 0
    assert updated.api_keys_file == tmp_path / "var/api_keys"
    store = KeyStore(None, updated.api_keys_file)
    assert store.authenticate(key)

    again = io.StringIO()
    assert ensure_api_key(settings, again).api_keys_file == updated.api_keys_file
    assert again.getvalue() == ""  # a restart reuses the stored hash, prints nothing
    assert (tmp_path / "var/api_keys").read_text() == stored


def test_a_configured_key_is_left_alone(tmp_path: Path) -> None:
    settings = Settings(api_key="a-long-enough-operator-key-123", generated_keys_file=tmp_path / "k", _env_file=None)
    shown = io.StringIO()
    assert ensure_api_key(settings, shown) is settings
    assert shown.getvalue() == "" and not (tmp_path / "k").exists()


KEY = "k3y-for-tests-0123456789"


def test_keys_cli_generates_and_hashes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["keys", "new"]) == 0
    printed = capsys.readouterr().out
    key = printed.split("stored): ")[1].split()[0]
    record = printed.split("API_KEYS_FILE: ")[1].strip()
    assert KeyHash.parse(record).matches(key)

    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    assert main(["keys", "hash"]) == 0
    assert KeyHash.parse(capsys.readouterr().out.strip()).matches(KEY)
