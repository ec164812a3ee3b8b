"""`POST /api/v1/remove-watermark/batch` against the real bundled Triton (tiny model)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest

from lama_serve.triton.process import TritonProcess

from .conftest import AUTH, SettingsFactory, assert_error, box_mask, decode, encode, gateway, noise

pytestmark = pytest.mark.anyio
URL = "/api/v1/remove-watermark/batch"
Parts = list[tuple[str, tuple[str, bytes, str]]]


@pytest.fixture
async def client(make_settings: SettingsFactory, triton_server: TritonProcess) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(triton_url=triton_server.http_url, batch_max_items=3)
    async with gateway(settings) as client:
        yield client


def parts(images: list[bytes], masks: list[bytes]) -> Parts:
    """Repeated `image` and `mask` fields, paired by order."""
    return [("image", (f"image{i}", data, "application/octet-stream")) for i, data in enumerate(images)] + [
        ("mask", (f"mask{i}.png", data, "image/png")) for i, data in enumerate(masks)
    ]


async def test_a_bad_item_fails_alone(client: httpx.AsyncClient) -> None:
    images = [noise(24, 32, seed=0), None, noise(40, 20, seed=2)]
    masks = [box_mask(24, 32), box_mask(8, 8), box_mask(40, 20)]
    uploads = [encode(image) if image is not None else b"not an image" for image in images]
    response = await client.post(URL, headers=AUTH, files=parts(uploads, [encode(m) for m in masks]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["X-Batch-Failed"] == "1"
    assert response.headers["X-Model-Version"] == "1"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["0.png", "2.png", "results.json"]
    items = json.loads(archive.read("results.json"))["items"]
    assert [item["status_code"] for item in items] == [200, 400, 200]
    assert items[1]["filename"] == "image1" and items[1]["error"] == "Bad Request"
    assert "Invalid image format" in items[1]["detail"]
    assert items[0]["image_size"] == "32x24" and items[0]["model_version"] == "1"
    for index in (0, 2):
        out, image, mask = decode(archive.read(items[index]["file"])), images[index], masks[index]
        assert out.shape == image.shape
        np.testing.assert_array_equal(out[mask == 0], image[mask == 0])
        assert (out[mask > 0] != image[mask > 0]).any()
    stats = (await client.get("/api/v1/stats", headers=AUTH)).json()
    assert (stats["total"], stats["success"], stats["failed"]) == (3, 2, 1)


async def test_over_the_item_limit_is_a_413(client: httpx.AsyncClient) -> None:
    image, mask = encode(noise(8, 8)), encode(box_mask(8, 8))
    response = await client.post(URL, headers=AUTH, files=parts([image] * 4, [mask] * 4))
    assert_error(response, 413, "at most 3 per batch")


async def test_mask_count_must_match(client: httpx.AsyncClient) -> None:
    image, mask = encode(noise(8, 8)), encode(box_mask(8, 8))
    response = await client.post(URL, headers=AUTH, files=parts([image] * 2, [mask]))
    assert_error(response, 400, "one mask per image")


async def test_the_batch_needs_a_key(client: httpx.AsyncClient) -> None:
    image, mask = encode(noise(8, 8)), encode(box_mask(8, 8))
    assert_error(await client.post(URL, files=parts([image], [mask])), 401)
