"""Released weights: the model table, a verified download through a loopback server, the
cache, and `lama-serve weights fetch|inspect`."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from lama_serve.cli import main as _run
from lama_serve.core.settings import Settings
from lama_serve.export.arch import get_arch
from lama_serve.export.checkpoint import load_checkpoint
from lama_serve.export.errors import DigestMismatchError, WeightsDownloadError
from lama_serve.export.weights import MODELS, fetch, model_file
from lama_serve.triton.process import free_port
from tests.weights_server import WeightsServer, cache_listing


def test_table_pins_the_released_big_lama() -> None:
    entry = model_file(Settings())
    assert entry == MODELS["big-lama"] and entry.size == 205_669_692
    assert entry.url.startswith("https://github.com/Sanster/models/releases/")
    assert entry.md5 == "e3aa4aaa15225a33ec84f9f4bc47e500" and len(entry.sha256 or "") == 64


def test_a_mirror_keeps_the_digests_a_digest_names_another_file() -> None:
    mirror = model_file(Settings(lama_model_url="file:///srv/big-lama.pt"))
    assert mirror.url == "file:///srv/big-lama.pt" and mirror.md5 == MODELS["big-lama"].md5
    other = model_file(Settings(lama_model_md5="0" * 32))
    assert (other.md5, other.sha256, other.size) == ("0" * 32, None, None)


def test_fetch_verifies_caches_and_reuses(
    weights_server: WeightsServer, torchscript_ckpt: Path, tiny_generator, tmp_path: Path
) -> None:
    body = torchscript_ckpt.read_bytes()
    settings = weights_server.serve(body)
    messages: list[str] = []
    fetched = fetch(model_file(settings), tmp_path / "cache", messages.append)
    assert fetched.path == tmp_path / "cache" / "big-lama.pt" and not fetched.reused
    assert fetched.sha256 == hashlib.sha256(body).hexdigest() and fetched.path.read_bytes() == body
    assert any("(100%)" in m for m in messages) and cache_listing(tmp_path / "cache") == ["big-lama.pt"]
    again = fetch(model_file(settings), tmp_path / "cache")
    assert again.reused and weights_server.requests == 1
    assert load_checkpoint(again.path, get_arch("tiny")).source == "torchscript"


def test_a_corrupted_byte_is_a_digest_error_and_nothing_is_cached(
    weights_server: WeightsServer, torchscript_ckpt: Path, tmp_path: Path
) -> None:
    body = torchscript_ckpt.read_bytes()
    settings = weights_server.serve(body)
    weights_server.body = body[:100] + bytes([body[100] ^ 1]) + body[101:]
    with pytest.raises(DigestMismatchError) as info:
        fetch(model_file(settings), tmp_path / "cache")
    assert settings.lama_model_md5 in str(info.value)
    assert hashlib.md5(weights_server.body).hexdigest() in str(info.value)
    assert cache_listing(tmp_path / "cache") == []


def test_an_interrupted_download_leaves_nothing(weights_server: WeightsServer, tmp_path: Path) -> None:
    settings = weights_server.serve(b"x" * 3_000_000)
    weights_server.send_bytes = 1_000_000
    with pytest.raises(WeightsDownloadError, match="LAMA_MODEL_URL"):
        fetch(model_file(settings), tmp_path / "cache")
    assert cache_listing(tmp_path / "cache") == []


def test_a_cached_file_that_changed_is_downloaded_again(weights_server: WeightsServer, tmp_path: Path) -> None:
    settings = weights_server.serve(b"weights" * 1000)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "big-lama.pt").write_bytes(b"truncated")
    fetched = fetch(model_file(settings), tmp_path / "cache")
    assert not fetched.reused and fetched.path.read_bytes() == weights_server.body


def test_concurrent_fetches_download_once(weights_server: WeightsServer, tmp_path: Path) -> None:
    settings = weights_server.serve(b"w" * 5_000_000)
    results = []
    threads = [threading.Thread(target=lambda: results.append(fetch(model_file(settings), tmp_path))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert weights_server.requests == 1 and sorted(r.reused for r in results) == [False, True, True]


def test_unreachable_server_says_how_to_fix(tmp_path: Path) -> None:
    settings = Settings(lama_model_url=f"http://127.0.0.1:{free_port()}/big-lama.pt")
    with pytest.raises(WeightsDownloadError, match="LAMA_CHECKPOINT"):
        fetch(model_file(settings), tmp_path)


def test_fetch_and_inspect_commands(
    weights_server: WeightsServer,
    torchscript_ckpt: Path,
    tiny_generator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = weights_server.serve(torchscript_ckpt.read_bytes())
    monkeypatch.setenv("LAMA_MODEL_URL", weights_server.url)
    monkeypatch.setenv("LAMA_MODEL_SHA256", settings.lama_model_sha256 or "")
    assert _run(["weights", "fetch", "--cache", str(tmp_path / "cache")]) == 0
    assert settings.lama_model_sha256 in capsys.readouterr().out
    assert _run(["weights", "inspect", str(tmp_path / "cache" / "big-lama.pt")]) == 0
    out = capsys.readouterr().out
    trainable = sum(p.numel() for p in tiny_generator.parameters())
    assert "format      torchscript" in out and "loads as    tiny" in out
    assert f"{trainable:,} parameters" in out and "under prefix 'generator.'" in out
    assert settings.lama_model_md5 in out and "unknown file" in out
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    assert _run(["weights", "inspect", str(junk)]) == 1
    assert "inspect failed: cannot read" in capsys.readouterr().err
