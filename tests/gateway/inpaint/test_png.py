"""gateway.inpaint.png: the fast encoder writes PNG that decoders read back bit-exactly."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from lama_serve.gateway.inpaint import imaging
from lama_serve.gateway.inpaint.png import deflate, encode_png, filtered_scanlines


def test_up_filter_by_numbers() -> None:
    pixels = np.array([[[10, 20, 30]], [[5, 20, 200]]], np.uint8)  # 2 rows of 1 RGB pixel
    assert list(filtered_scanlines(pixels)) == [2, 10, 20, 30, 2, 251, 0, 170]  # 5-10 wraps to 251


@pytest.mark.parametrize("level", [0, 1, 3, 6, 9])
@pytest.mark.parametrize("channels", [3, 4])
def test_round_trip_is_exact(level: int, channels: int) -> None:
    pixels = np.random.default_rng(level).integers(0, 256, (37, 53, channels), np.uint8)
    decoded = Image.open(io.BytesIO(encode_png(pixels, level)))
    assert decoded.mode == ("RGB" if channels == 3 else "RGBA")
    np.testing.assert_array_equal(np.asarray(decoded), pixels)


def test_every_level_is_a_zlib_stream() -> None:
    data = bytes(range(256)) * 64
    for level in range(10):
        assert zlib.decompress(deflate(data, level)) == data


def test_imaging_encode_uses_it_and_keeps_alpha() -> None:
    rgb = np.zeros((16, 16, 3), np.uint8)
    alpha = np.full((16, 16), 128, np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(imaging.encode(rgb, alpha, "png", 1, 95))))
    assert decoded.shape == (16, 16, 4) and (decoded[..., 3] == 128).all()
