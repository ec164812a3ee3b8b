"""Pixels in, pixels out: decoding, model-input preparation, gray-mask blending, encoding.

Pure functions (bytes/numpy in, numpy/bytes out) so they can be tested with numbers and
run in a worker thread. Masks: white = inpaint, black = keep; how a gray mask splits into
holes and blending alpha is `mask.MaskField`. A soft (gray) brush edge feathers instead of
cutting hard; with MASK_THRESHOLD=127 values up to 127 keep the original exactly (IOPaint's
hard threshold).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lama_serve.gateway.errors import BadInput
from lama_serve.gateway.inpaint.png import encode_png

OutputFormat = Literal["png", "jpeg", "webp"]
MEDIA_TYPES: dict[OutputFormat, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
INPUT_FORMATS = ("JPEG", "PNG", "WEBP")
_FORMATS_HINT = "Send a JPEG, PNG or WebP file."

_HIGH_DEPTH_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


@dataclass(frozen=True)
class ImageLimits:
    max_side: int
    max_pixels: int


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # (H, W, 3) uint8
    alpha: np.ndarray | None  # (H, W) uint8, kept to re-attach to PNG/WebP output

    @property
    def size_label(self) -> str:
        height, width = self.rgb.shape[:2]
        return f"{width}x{height}"


def open_checked(data: bytes, limits: ImageLimits, what: str) -> Image.Image:
    """Open, check dimensions from the header (before any pixel is decoded), then decode."""
    # Corrupt data makes Pillow raise many exception types; every one is the client's mistake.
    try:
        image = Image.open(io.BytesIO(data), formats=INPUT_FORMATS)
    except UnidentifiedImageError as exc:
        raise BadInput(f"Invalid {what} format: cannot identify image file. {_FORMATS_HINT}") from exc
    except Image.DecompressionBombError as exc:
        raise BadInput(f"{what.capitalize()} too large: {str(exc).rstrip('.')}. Downscale it and retry.") from exc
    except Exception as exc:
        raise BadInput(f"Invalid {what} format: {exc}. {_FORMATS_HINT}") from exc
    width, height = image.size
    if max(width, height) > limits.max_side:
        raise BadInput(
            f"{what.capitalize()} too large. Max dimension: {limits.max_side}px "
            f"(got {width}x{height}); downscale it and retry."
        )
    if width * height > limits.max_pixels:
        raise BadInput(
            f"{what.capitalize()} too large. Max pixels: {limits.max_pixels} "
            f"(got {width}x{height}); downscale it and retry."
        )
    try:
        return ImageOps.exif_transpose(image)  # decodes the pixels
    except Exception as exc:
        raise BadInput(f"Invalid {what} format: {exc}. {_FORMATS_HINT}") from exc


def to_rgb_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow mode to 8-bit RGB plus alpha when the image has transparency."""
    if image.mode in _HIGH_DEPTH_MODES or image.mode == "F":
        # 16-bit integers span 0..65535; float images are taken as 0..255 (Pillow's own rule).
        values = np.asarray(image, dtype=np.float64)
        scale = 255.0 / 65535.0 if image.mode in _HIGH_DEPTH_MODES else 1.0
        gray = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2), None
    if image.mode in _ALPHA_MODES or image.has_transparency_data:
        rgba = np.asarray(image.convert("RGBA"))
        return np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    return np.asarray(image.convert("RGB")), None


def decode_image(data: bytes, limits: ImageLimits) -> DecodedImage:
    rgb, alpha = to_rgb_alpha(open_checked(data, limits, "image"))
    return DecodedImage(rgb, alpha)


def decode_mask(data: bytes, limits: ImageLimits, shape: tuple[int, int]) -> np.ndarray:
    """Mask as (H, W) uint8 luminance, transparent areas count as keep, resized to `shape`
    with NEAREST so resizing never invents gray values."""
    rgb, alpha = to_rgb_alpha(open_checked(data, limits, "mask"))
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    if alpha is not None:
        gray = np.rint(gray.astype(np.float32) * alpha / 255.0).astype(np.uint8)
    height, width = shape
    if gray.shape != shape:
        gray = np.asarray(Image.fromarray(gray).resize((width, height), Image.Resampling.NEAREST))
    return gray


def blend(original: np.ndarray, inpainted: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """original + (inpainted - original) * alpha, with alpha HxW in [0, 1] (MaskField.alpha).

    `inpainted` may be padded; it is cropped to the original. a = 0 gives the original
    bit-identical and a = 1 the model's pixel, whatever the arithmetic.
    """
    height, width = original.shape[:2]
    inpainted = inpainted[:height, :width]
    difference = inpainted.astype(np.float32) - original.astype(np.float32)
    return np.clip(np.rint(original + difference * alpha[..., None]), 0, 255).astype(np.uint8)


def encode(rgb: np.ndarray, alpha: np.ndarray | None, fmt: OutputFormat, png_level: int, quality: int) -> bytes:
    """PNG/WebP keep the input's alpha; JPEG has none. PNG goes through inpaint/png.py (fast)."""
    pixels = np.dstack([rgb, alpha]) if alpha is not None and fmt != "jpeg" else rgb
    if fmt == "png":
        return encode_png(pixels, png_level)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt.upper(), quality=quality)
    return out.getvalue()
