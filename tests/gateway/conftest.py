"""Gateway fixtures: settings in a temp dir, an in-process client with the lifespan run,
and small image encoders. Triton comes from tests/conftest.py (the real bundled server)."""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from PIL import Image

from lama_serve.core.settings import Settings
from lama_serve.detect.masks import max_filter
from lama_serve.gateway.app import create_app
from lama_serve.triton.process import TritonProcess

API_KEY = "gateway-test-key-0123456789"
AUTH = {"X-API-Key": API_KEY}
# Nothing listens on the discard port: a Triton that is down.
DEAD_TRITON = "127.0.0.1:9"

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _restore_pillow_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """create_app sets the process-wide PIL.Image.MAX_IMAGE_PIXELS; undo it after each test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


def isolated_settings(directory: Path, **overrides: Any) -> Settings:
    """Settings whose files live in `directory`; keyword arguments override fields.
    A plain function so that module-scoped servers (tests/reliability) can use it too."""
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "api_keys_file": None,
        "triton_url": DEAD_TRITON,
        "stats_db_path": directory / "stats.sqlite3",
        "jobs_dir": directory / "jobs",
        "model_repository": directory / "no-repository",
        "rate_limit_per_minute": 0,
        "retry_after_s": 3,
        "cors_origins": [],
        "allow_missing_mask": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings isolated in tmp_path; keyword arguments override fields."""
    return functools.partial(isolated_settings, tmp_path)


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to `app` in process, between its startup and shutdown."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(settings)) as client:
        yield client


@pytest.fixture
async def client(make_settings: SettingsFactory, triton_server: TritonProcess) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in process, in front of the session's real Triton."""
    async with gateway(make_settings(triton_url=triton_server.http_url)) as client:
        yield client


def encode(array: np.ndarray | Image.Image, fmt: str = "PNG", **params: Any) -> bytes:
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def box_mask(height: int, width: int, value: int = 255) -> np.ndarray:
    """A centred rectangle of `value` on black."""
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = value
    return mask


def with_rim(mask: np.ndarray, extra: int = 0) -> np.ndarray:
    """bool: `mask` and the rim remove-watermark grows a detected mask by (DETECTED_MASK_GROW's
    default), + `extra` px."""
    return max_filter(mask.astype(np.uint8), Settings.model_fields["detected_mask_grow"].default + extra) > 0


def files(image: bytes, mask: bytes | None = None) -> dict[str, tuple[str, bytes, str]]:
    parts = {"image": ("image", image, "application/octet-stream")}
    if mask is not None:
        parts["mask"] = ("mask.png", mask, "image/png")
    return parts


def assert_error(response: httpx.Response, status: int, detail_part: str = "") -> dict[str, Any]:
    """The v1 error shape with the expected status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail", "status_code"} and body["status_code"] == status
    assert detail_part in body["detail"]
    return body


async def finished(client: httpx.AsyncClient, location: str) -> dict:
    """The job at `location` once it left queued/processing (polls for up to 30 s)."""
    for _ in range(600):
        job = (await client.get(location, headers=AUTH)).json()
        if job["status"] not in ("queued", "processing"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {location} did not finish: {job}")
