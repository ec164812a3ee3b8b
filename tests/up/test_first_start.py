"""`lama-serve up` on an empty repository: the released weights are fetched (from a loopback
server standing in for the release host), exported and served; when the fetch fails, random
weights with the warning, or a refusal with REQUIRE_REAL_WEIGHTS=true."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lama_serve.core.contract import MODEL_NAME
from lama_serve.core.repository import ModelRepository
from lama_serve.core.settings import Settings
from lama_serve.export.arch import get_arch
from lama_serve.export.checkpoint import random_generator
from lama_serve.triton.process import TritonProcess, free_port
from lama_serve.up import provision, up
from tests.export.conftest import write_torchscript_checkpoint
from tests.gateway.conftest import (
    AUTH,
    box_mask,
    encode,
    files,
    gateway,
    isolated_settings,
    noise,
)
from tests.weights_server import WeightsServer


@pytest.fixture
def empty_repository(copy_repository: Callable[[], Path]) -> Path:
    repository = copy_repository()
    shutil.rmtree(repository / MODEL_NAME / "1")
    return repository


def _manifest(repository: Path) -> dict:
    return json.loads((repository / MODEL_NAME / "1" / "export.json").read_text())


def _unreachable(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        lama_model_url=f"http://127.0.0.1:{free_port()}/big-lama.pt", weights_cache_dir=tmp_path / "cache", **overrides
    )


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_first_start_fetches_exports_and_serves_real_weights(
    weights_server: WeightsServer, empty_repository: Path, tmp_path: Path, start_triton: Callable[..., TritonProcess]
) -> None:
    tiny = random_generator(get_arch("tiny"), seed=5).generator
    body = write_torchscript_checkpoint(tiny, tmp_path / "served.pt").read_bytes()
    table = weights_server.serve(body)
    settings = isolated_settings(
        tmp_path,
        model_repository=empty_repository,
        weights_cache_dir=tmp_path / "cache",
        **table.model_dump(include={"lama_model_url", "lama_model_md5", "lama_model_sha256"}),
    )
    provision.ensure_model(empty_repository, None, arch="tiny", settings=settings)
    assert _manifest(empty_repository)["weights"] == {
        "name": "big-lama",
        "sha256": table.lama_model_sha256,
        "md5": table.lama_model_md5,
        "source": "fetched",
    }
    assert (tmp_path / "cache" / "big-lama.pt").read_bytes() == body

    triton = start_triton(empty_repository)
    async with gateway(settings.model_copy(update={"triton_url": triton.http_url})) as client:
        health = (await client.get("/api/v1/health")).json()
        response = await client.post(
            "/api/v1/remove-watermark", headers=AUTH, files=files(encode(noise(64, 96)), encode(box_mask(64, 96)))
        )
    assert health["triton_ready"] and "warning" not in health
    assert health["weights"]["source"] == "fetched"
    assert health["weights"]["sha256"] == table.lama_model_sha256
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"


def test_unreachable_release_falls_back_to_random_weights_loudly(
    empty_repository: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=provision.LOGGER.name):
        provision.ensure_model(empty_repository, None, arch="tiny", settings=_unreachable(tmp_path))
    assert "cannot fetch the released weights" in caplog.text and "RANDOM weights" in caplog.text
    assert _manifest(empty_repository)["weights"]["source"] == "random"


def test_require_real_weights_refuses_to_start(
    empty_repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _unreachable(
        tmp_path,
        require_real_weights=True,
        model_repository=empty_repository,
        generated_keys_file=tmp_path / "api_keys",
    )
    with pytest.raises(provision.UpError, match="REQUIRE_REAL_WEIGHTS.*LAMA_MODEL_URL"):
        provision.ensure_model(empty_repository, None, arch="tiny", settings=settings)
    monkeypatch.setattr(up, "_create_gateway", lambda settings: "app")
    monkeypatch.setattr(up, "TritonProcess", None)  # any use would fail
    with caplog.at_level(logging.ERROR, logger="lama_serve.up.up"):
        assert up.run_up(settings, arch="tiny") == 1
    assert "REQUIRE_REAL_WEIGHTS" in caplog.text
    assert ModelRepository(empty_repository).exported_versions() == []
