import io
from pathlib import Path

from gateway.auth import KeyStore
from gateway.settings import Settings
from serving.keys import ensure_api_key


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
    settings = Settings(api_key="a-long-enough-operator-key-123", generated_keys_file=tmp_path / "k",
                        _env_file=None)
    shown = io.StringIO()
    assert ensure_api_key(settings, shown) is settings
    assert shown.getvalue() == "" and not (tmp_path / "k").exists()
