"""Pure pixel functions, checked with numbers."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from PIL import Image

from lama_serve.gateway.errors import BadInput
from lama_serve.gateway.inpaint import imaging
from lama_serve.gateway.inpaint.imaging import ImageLimits
from lama_serve.gateway.inpaint.mask import MaskField

LIMITS = ImageLimits(max_side=64, max_pixels=64 * 64)


def png_bytes(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **params)
    return out.getvalue()


def test_blend_gray_levels() -> None:
    original = np.full((1, 4, 3), 100, np.uint8)
    inpainted = np.full((8, 8, 3), 200, np.uint8)  # padded, as the model returns it
    mask = np.array([[0, 255, 128, 64]], np.uint8)
    out = imaging.blend(original, inpainted, MaskField(mask, 0).alpha)
    assert out.shape == (1, 4, 3)
    assert out[0, 0].tolist() == [100] * 3  # keep: original
    assert out[0, 1].tolist() == [200] * 3  # white: inpainted
    assert out[0, 2].tolist() == [round(100 + 100 * 128 / 255)] * 3  # 150
    assert out[0, 3].tolist() == [round(100 + 100 * 64 / 255)] * 3  # 125


def test_blend_below_threshold_is_bit_identical() -> None:
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    inpainted = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    mask = np.full((6, 6), 127, np.uint8)
    np.testing.assert_array_equal(imaging.blend(original, inpainted, MaskField(mask, 127).alpha), original)
    full = imaging.blend(original, inpainted, MaskField(np.full((6, 6), 255, np.uint8), 127).alpha)
    np.testing.assert_array_equal(full, inpainted[:6, :6])


@pytest.mark.parametrize(
    ("image", "expected_rgb", "expected_alpha"),
    [
        (Image.new("L", (2, 2), 77), [77, 77, 77], None),
        (Image.new("1", (2, 2), 1), [255, 255, 255], None),
        (Image.new("RGBA", (2, 2), (10, 20, 30, 40)), [10, 20, 30], 40),
        (Image.new("LA", (2, 2), (90, 50)), [90, 90, 90], 50),
        (Image.new("CMYK", (2, 2), (0, 0, 0, 0)), [255, 255, 255], None),
        (Image.new("I;16", (2, 2), 65535), [255, 255, 255], None),
        (Image.new("I", (2, 2), 257 * 100), [100, 100, 100], None),
        (Image.new("F", (2, 2), 300.0), [255, 255, 255], None),
        (Image.new("F", (2, 2), 12.4), [12, 12, 12], None),
    ],
    ids=["L", "1", "RGBA", "LA", "CMYK", "I;16", "I", "F-clipped", "F"],
)
def test_modes_convert_to_rgb(image: Image.Image, expected_rgb: list[int], expected_alpha: int | None) -> None:
    rgb, alpha = imaging.to_rgb_alpha(image)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == expected_rgb
    assert (alpha is None) if expected_alpha is None else alpha[0, 0] == expected_alpha


def test_palette_with_transparency_gets_alpha() -> None:
    palette = Image.new("P", (2, 1))
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.putpixel((1, 0), 1)
    decoded = imaging.decode_image(png_bytes(palette, transparency=0), LIMITS)
    assert decoded.rgb.tolist() == [[[255, 0, 0], [0, 0, 255]]]
    assert decoded.alpha is not None and decoded.alpha.tolist() == [[0, 255]]


def test_sixteen_bit_png_scales_to_eight_bit() -> None:
    image = Image.fromarray(np.array([[0, 65535, 257 * 128]], np.uint16))
    decoded = imaging.decode_image(png_bytes(image), LIMITS)
    assert decoded.rgb[0, :, 0].tolist() == [0, 255, 128]


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (4, 2), (0, 0, 0))
    image.putpixel((0, 0), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    out = io.BytesIO()
    image.save(out, format="PNG", exif=exif)
    decoded = imaging.decode_image(out.getvalue(), LIMITS)
    assert decoded.rgb.shape == (4, 2, 3)
    assert decoded.size_label == "2x4"
    assert decoded.rgb[0, 1].tolist() == [255, 255, 255]  # top-left went to top-right


def test_mask_resized_nearest_keeps_binary_values() -> None:
    mask = Image.fromarray(np.array([[0, 255], [255, 0]], np.uint8))
    resized = imaging.decode_mask(png_bytes(mask), LIMITS, (4, 6))
    assert resized.shape == (4, 6)
    assert set(np.unique(resized).tolist()) == {0, 255}
    assert resized[0, 0] == 0 and resized[0, 5] == 255 and resized[3, 0] == 255


def test_mask_alpha_counts_as_keep() -> None:
    rgba = Image.new("RGBA", (2, 1), (255, 255, 255, 0))
    rgba.putpixel((1, 0), (255, 255, 255, 255))
    assert imaging.decode_mask(png_bytes(rgba), LIMITS, (1, 2)).tolist() == [[0, 255]]


@pytest.mark.parametrize(("size", "message"), [((65, 8), "Max dimension: 64px"), ((64, 65), "Max dimension")])
def test_dimension_limits_checked(size: tuple[int, int], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        imaging.decode_image(png_bytes(Image.new("L", size)), LIMITS)


def test_pixel_cap_checked_before_decoding() -> None:
    with pytest.raises(BadInput, match="Max pixels: 100"):
        imaging.decode_image(png_bytes(Image.new("L", (20, 20))), ImageLimits(4096, 100))


def test_a_decompression_bomb_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow refuses images over twice MAX_IMAGE_PIXELS at open; its reason is passed on once
    punctuated, with the fix."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(BadInput, match=r"Image too large: .*\(400 pixels\).* attack\. Downscale it") as caught:
        imaging.decode_image(png_bytes(Image.new("L", (20, 20))), LIMITS)
    assert ".." not in str(caught.value)


@pytest.mark.parametrize("payload", [b"", b"not an image", b"GIF89a" + b"\0" * 20])
def test_undecodable_input_is_bad_input(payload: bytes) -> None:
    with pytest.raises(BadInput, match="Invalid image format"):
        imaging.decode_image(payload, LIMITS)


def test_truncated_png_is_bad_input() -> None:
    data = png_bytes(Image.effect_noise((32, 32), 50))
    with pytest.raises(BadInput):
        imaging.decode_image(data[: len(data) // 2], LIMITS)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encode_formats(fmt: str) -> None:
    rgb = np.full((3, 5, 3), 90, np.uint8)
    alpha = np.full((3, 5), 128, np.uint8)
    decoded = Image.open(io.BytesIO(imaging.encode(rgb, alpha, fmt, 1, 90)))
    assert decoded.format == fmt.upper() and decoded.size == (5, 3)
    assert decoded.mode == ("RGB" if fmt == "jpeg" else "RGBA")


def test_png_round_trip_is_lossless() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    encoded = imaging.encode(rgb, None, "png", 1, 90)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encoded))), rgb)


def test_corrupted_files_only_raise_bad_input() -> None:
    """Whatever Pillow raises on damaged data becomes a 400, never a 500."""
    rng = np.random.default_rng(2)
    sources = [encode_as(fmt) for fmt in ("PNG", "JPEG", "WEBP")]
    for trial in range(300):
        data = np.frombuffer(sources[trial % 3], np.uint8).copy()
        data[rng.integers(0, data.size, 8)] = rng.integers(0, 256, 8, dtype=np.uint8)
        with contextlib.suppress(BadInput):
            imaging.decode_image(data[: rng.integers(data.size // 2, data.size + 1)].tobytes(), LIMITS)


def encode_as(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((40, 30), 60).convert("RGB").save(out, format=fmt)
    return out.getvalue()
