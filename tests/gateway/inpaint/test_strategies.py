"""`hd_strategy` of `POST /api/v1/remove-watermark` through the app and the real bundled
Triton (tiny model): windows around the holes, whole-image bucketing, resize, no-hole masks."""

from __future__ import annotations

import urllib.request

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lama_serve.gateway.inpaint import pipeline
from lama_serve.gateway.inpaint.mask import MaskField
from lama_serve.triton.process import TritonProcess
from tests.gateway.conftest import AUTH, SettingsFactory, assert_error, box_mask, decode, encode, files, gateway, noise

pytestmark = pytest.mark.anyio
URL = "/api/v1/remove-watermark"
LARGE = (1100, 1300)  # longest side above the default crop trigger (1024)


def two_logos(height: int, width: int) -> np.ndarray:
    """Two 40x40 holes in opposite corners: too far apart to share a 512 window."""
    mask = np.zeros((height, width), np.uint8)
    mask[60:100, 80:120] = 255
    mask[height - 100 : height - 60, width - 120 : width - 80] = 255
    return mask


def inference_count(triton: TritonProcess) -> float:
    """Requests Triton has run for any model (successes), from its metrics endpoint."""
    with urllib.request.urlopen(triton.metrics_url, timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "nv_inference_request_success"
        for sample in family.samples
    )


def assert_only_holes_changed(out: np.ndarray, image: np.ndarray, mask: np.ndarray) -> None:
    assert out.shape == image.shape
    keep = mask == 0
    assert np.abs(out[keep].astype(int) - image[keep]).max() == 0
    assert (out[~keep] != image[~keep]).any()


async def test_crop_is_the_large_image_default_one_window_per_region(
    client: httpx.AsyncClient, triton_server: TritonProcess
) -> None:
    image, mask = noise(*LARGE), two_logos(*LARGE)
    before = inference_count(triton_server)
    response = await client.post(URL, headers=AUTH, files=files(encode(image), encode(mask)))
    assert response.status_code == 200, response.text
    assert response.headers["X-HD-Strategy"] == "crop"
    assert response.headers["X-Inpaint-Windows"] == "2"
    assert response.headers["X-Image-Size"] == "1300x1100"
    assert response.headers["X-Model-Version"] == "1"
    assert inference_count(triton_server) - before == 2
    assert_only_holes_changed(decode(response.content), image, mask)


async def test_gray_mask_still_blends_under_crop(client: httpx.AsyncClient) -> None:
    image, mask = noise(*LARGE, seed=1), two_logos(*LARGE)
    form = {"hd_strategy": "crop"}
    white = await client.post(URL, headers=AUTH, data=form, files=files(encode(image), encode(mask)))
    gray = await client.post(URL, headers=AUTH, data=form, files=files(encode(image), encode(mask // 2)))
    expected = np.rint(image + (decode(white.content).astype(float) - image) * 127 / 255).astype(np.uint8)
    np.testing.assert_array_equal(decode(gray.content), expected)


async def test_original_sends_the_whole_image_once(client: httpx.AsyncClient) -> None:
    image, mask = noise(*LARGE, seed=2), two_logos(*LARGE)
    response = await client.post(
        URL, headers=AUTH, params={"hd_strategy": "original"}, files=files(encode(image), encode(mask))
    )
    assert response.status_code == 200, response.text
    assert (response.headers["X-HD-Strategy"], response.headers["X-Inpaint-Windows"]) == ("original", "1")
    assert_only_holes_changed(decode(response.content), image, mask)


async def test_small_images_default_to_original(client: httpx.AsyncClient) -> None:
    image, mask = noise(37, 53), box_mask(37, 53)
    response = await client.post(URL, headers=AUTH, files=files(encode(image), encode(mask)))
    assert (response.headers["X-HD-Strategy"], response.headers["X-Inpaint-Windows"]) == ("original", "1")
    assert_only_holes_changed(decode(response.content), image, mask)


async def test_resize_downscales_but_keeps_unmasked_pixels(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    image, mask = noise(*LARGE, seed=3), two_logos(*LARGE)
    settings = make_settings(triton_url=triton_server.http_url, hd_strategy_resize_limit=512)
    async with gateway(settings) as client:
        response = await client.post(
            URL, headers=AUTH, data={"hd_strategy": "resize"}, files=files(encode(image), encode(mask))
        )
    assert response.status_code == 200, response.text
    assert (response.headers["X-HD-Strategy"], response.headers["X-Inpaint-Windows"]) == ("resize", "1")
    assert_only_holes_changed(decode(response.content), image, mask)


@pytest.mark.parametrize("where", ["data", "params"])
async def test_unknown_strategy_is_a_400(client: httpx.AsyncClient, where: str) -> None:
    image, mask = noise(16, 16), box_mask(16, 16)
    response = await client.post(
        URL, headers=AUTH, **{where: {"hd_strategy": "tile"}}, files=files(encode(image), encode(mask))
    )
    assert_error(response, 400, "hd_strategy")


async def test_black_mask_returns_the_image_without_calling_triton(
    client: httpx.AsyncClient, triton_server: TritonProcess
) -> None:
    image = noise(*LARGE, seed=4)
    before = inference_count(triton_server)
    response = await client.post(URL, headers=AUTH, files=files(encode(image), encode(np.zeros(LARGE, np.uint8))))
    assert response.status_code == 200, response.text
    assert response.headers["X-Inpaint-Windows"] == "0"
    assert "X-Model-Version" not in response.headers  # nothing served it, nothing pinned
    np.testing.assert_array_equal(decode(response.content), image)
    assert inference_count(triton_server) == before


async def test_every_call_of_a_request_uses_the_pinned_version(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    image, mask = noise(*LARGE, seed=5), two_logos(*LARGE)
    async with gateway(make_settings(triton_url=triton_server.http_url, model_version="7")) as client:
        response = await client.post(URL, headers=AUTH, files=files(encode(image), encode(mask)))
    assert_error(response, 503, "Model unavailable")


def test_whole_small_images_are_padded_to_a_bucket(make_settings: SettingsFactory) -> None:
    settings = make_settings(tile_buckets=(256, 512))
    [window] = pipeline.plan(settings, "original", (37, 300), MaskField(box_mask(37, 300)))
    assert window.shape == (256, 512) and window.size == (37, 300)


def test_too_many_regions_fall_back_to_one_whole_image_call(make_settings: SettingsFactory) -> None:
    settings = make_settings(max_windows_per_request=1)
    [window] = pipeline.plan(settings, "crop", LARGE, MaskField(two_logos(*LARGE)))
    assert (window.box.height, window.box.width) == LARGE
    assert len(pipeline.plan(make_settings(), "crop", LARGE, MaskField(two_logos(*LARGE)))) == 2
