"""`POST /api/v1/remove-watermark` against the real bundled Triton with the tiny model."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from PIL import Image

from lama_serve.gateway.routes._common import choose_format
from lama_serve.triton.process import TritonProcess

from .conftest import AUTH, SettingsFactory, assert_error, box_mask, decode, encode, files, gateway, noise

pytestmark = pytest.mark.anyio
URL = "/api/v1/remove-watermark"


async def test_unmasked_pixels_are_bit_identical(client: httpx.AsyncClient) -> None:
    image, mask = noise(37, 53), box_mask(37, 53)
    response = await client.post(URL, headers=AUTH, files=files(encode(image), encode(mask)))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["X-Image-Size"] == "53x37"
    assert response.headers["X-Model-Version"] == "1"
    assert float(response.headers["X-Processing-Time"]) > 0
    out = decode(response.content)
    assert out.shape == image.shape
    keep = mask == 0
    assert np.abs(out[keep].astype(int) - image[keep]).max() == 0
    assert (out[~keep] != image[~keep]).any()  # the hole was filled by the model


async def test_gray_mask_blends_between_original_and_inpainting(client: httpx.AsyncClient) -> None:
    image = noise(32, 40, seed=1)
    white = await client.post(URL, headers=AUTH, files=files(encode(image), encode(box_mask(32, 40, 255))))
    gray = await client.post(URL, headers=AUTH, files=files(encode(image), encode(box_mask(32, 40, 128))))
    inpainted, blended = decode(white.content).astype(float), decode(gray.content)
    expected = np.rint(image + (inpainted - image) * 128 / 255).astype(np.uint8)
    np.testing.assert_array_equal(blended, expected)


@pytest.mark.parametrize(("fmt", "params"), [("JPEG", {"quality": 95}), ("WEBP", {"lossless": True}), ("PNG", {})])
async def test_input_formats(client: httpx.AsyncClient, fmt: str, params: dict) -> None:
    image = encode(noise(24, 24), fmt, **params)
    response = await client.post(URL, headers=AUTH, files=files(image, encode(box_mask(24, 24))))
    assert response.status_code == 200, response.text
    assert decode(response.content).shape == (24, 24, 3)


async def test_rgba_keeps_alpha(client: httpx.AsyncClient) -> None:
    rgba = np.dstack([noise(16, 16), np.full((16, 16), 77, np.uint8)])
    response = await client.post(URL, headers=AUTH, files=files(encode(rgba), encode(box_mask(16, 16))))
    out = decode(response.content)
    assert out.shape == (16, 16, 4) and (out[..., 3] == 77).all()
    keep = box_mask(16, 16) == 0
    np.testing.assert_array_equal(out[..., :3][keep], rgba[..., :3][keep])


async def test_palette_and_sixteen_bit_inputs(client: httpx.AsyncClient) -> None:
    palette = Image.fromarray(noise(16, 16)).convert("P")
    sixteen = Image.fromarray(np.arange(256, dtype=np.uint16).reshape(16, 16) * 257)
    for image in (palette, sixteen):
        response = await client.post(URL, headers=AUTH, files=files(encode(image), encode(box_mask(16, 16))))
        assert response.status_code == 200, response.text
    np.testing.assert_array_equal(decode(response.content)[0, :4, 0], [0, 1, 2, 3])


async def test_exif_rotated_jpeg_is_upright(client: httpx.AsyncClient) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    image = encode(noise(16, 32), "JPEG", exif=exif)
    response = await client.post(URL, headers=AUTH, files=files(image, encode(box_mask(32, 16))))
    assert response.headers["X-Image-Size"] == "16x32"
    assert decode(response.content).shape == (32, 16, 3)


async def test_mask_of_another_size_is_resized(client: httpx.AsyncClient) -> None:
    image = noise(40, 40, seed=2)
    small = np.zeros((4, 4), np.uint8)
    small[0, 0] = 255  # top-left 10x10 block once scaled up NEAREST
    response = await client.post(URL, headers=AUTH, files=files(encode(image), encode(small)))
    out = decode(response.content)
    np.testing.assert_array_equal(out[10:], image[10:])
    np.testing.assert_array_equal(out[:, 10:], image[:, 10:])


@pytest.mark.parametrize(
    ("query", "accept", "media"),
    [
        ("?format=jpeg", None, "image/jpeg"),
        ("", "image/webp", "image/webp"),
        ("", "application/json", "image/png"),
    ],
)
async def test_output_format(client: httpx.AsyncClient, query: str, accept: str | None, media: str) -> None:
    headers = {**AUTH, **({"Accept": accept} if accept else {})}
    response = await client.post(URL + query, headers=headers, files=files(encode(noise(8, 8)), encode(box_mask(8, 8))))
    assert response.headers["content-type"] == media


def test_choose_format_by_q() -> None:
    assert choose_format(None, "image/png;q=0.5, image/webp;q=0.9", "png") == "webp"
    assert choose_format(None, "*/*", "jpeg") == "jpeg"
    assert choose_format("png", "image/webp", "jpeg") == "png"
    assert choose_format(None, "image/webp;q=oops, image/jpeg", "png") == "jpeg"
    assert choose_format(None, "image/webp;q=0", "png") == "png"


async def test_missing_mask_reject_is_400_and_the_v1_alias_inpaints_everything(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    image = encode(noise(8, 8))
    async with gateway(make_settings(triton_url=triton_server.http_url, missing_mask="reject")) as rejecting:
        assert_error(await rejecting.post(URL, headers=AUTH, files=files(image)), 400, "mask is required")
    async with gateway(make_settings(triton_url=triton_server.http_url, allow_missing_mask=True)) as allowing:
        response = await allowing.post(URL, headers=AUTH, files=files(image))
    assert response.status_code == 200 and response.headers["X-Mask-Source"] == "full"
    assert (decode(response.content) != noise(8, 8)).any()


async def test_bad_inputs_are_400(client: httpx.AsyncClient) -> None:
    mask = encode(box_mask(8, 8))
    assert_error(await client.post(URL, headers=AUTH, files=files(b"not an image", mask)), 400, "Invalid image format")
    assert_error(await client.post(URL, headers=AUTH, files=files(encode(noise(8, 8)), b"junk")), 400, "Invalid mask")
    assert_error(await client.post(URL, headers=AUTH, files={"mask": ("m", mask)}), 400, "image")
    assert_error(
        await client.post(URL + "?format=gif", headers=AUTH, files=files(encode(noise(8, 8)), mask)),
        400,
        "format",
    )
    huge = encode(np.zeros((8, 5000), np.uint8))
    assert_error(await client.post(URL, headers=AUTH, files=files(huge, mask)), 400, "Max dimension: 4096px")
