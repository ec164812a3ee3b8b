"""Mask conveniences of the v1 API: RGBA alpha as the mask, `grow_mask`, `rectangles`.

Pure numpy; every bad input raises DetectionInputError with a message that says how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from lama_serve.core.settings.detection import MAX_GROW_PIXELS
from lama_serve.detect.types import DetectionInputError

RECT_KEYS = ("x", "y", "width", "height")
RECTANGLES_HINT = (
    'send `rectangles` as JSON, e.g. [[10, 20, 100, 40]] or [{"x": 10, "y": 20, "width": 100, "height": 40}]'
)


def mask_from_alpha(rgba: np.ndarray, threshold: int = 254) -> np.ndarray:
    """255 where the RGBA image is (partly) transparent: alpha <= threshold marks the area.

    Editors erase the watermark area to transparency, so transparency is the hole.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise DetectionInputError("an alpha mask needs an RGBA image (4 channels)")
    return np.where(rgba[..., 3] <= threshold, 255, 0).astype(np.uint8)


def _max_filter_1d(mask: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Running max over 2*radius+1 along `axis` in O(log radius) array operations.

    Doubling: max over windows of length k gives length 2k; any length L is the max of
    two overlapping power-of-two windows.
    """
    length = 2 * radius + 1
    pad = [(0, 0)] * mask.ndim
    pad[axis] = (radius, radius)
    out = np.pad(mask, pad)
    n = mask.shape[axis]
    k = 1
    while 2 * k <= length:
        size = out.shape[axis]
        out = np.maximum(np.take(out, range(size - k), axis), np.take(out, range(k, size), axis))
        k *= 2
    first = np.take(out, range(n), axis)
    second = np.take(out, range(length - k, length - k + n), axis)
    return np.maximum(first, second)


def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilate the mask by `pixels` (a square of side 2*pixels+1): covers halos and shadows."""
    if not isinstance(pixels, (int, np.integer)) or isinstance(pixels, bool):
        raise DetectionInputError(f"grow_mask must be an integer, got {pixels!r}")
    if not 0 <= pixels <= MAX_GROW_PIXELS:
        raise DetectionInputError(f"grow_mask must be between 0 and {MAX_GROW_PIXELS} pixels, got {pixels}")
    return max_filter(mask, pixels) if pixels else mask.copy()


def max_filter(plane: np.ndarray, radius: int) -> np.ndarray:
    """Max over the (2r+1)^2 square around each pixel: separable, O(log r) passes."""
    return _max_filter_1d(_max_filter_1d(plane, radius, 0), radius, 1)


def _rectangle(item: object, index: int) -> tuple[int, int, int, int]:
    values: object = [item.get(key) for key in RECT_KEYS] if isinstance(item, dict) else item
    if not isinstance(values, (list, tuple)) or len(values) != 4:
        raise DetectionInputError(f"rectangle {index} must be [x, y, width, height]; {RECTANGLES_HINT}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise DetectionInputError(f"rectangle {index} must hold 4 integers, got {values}")
    return tuple(values)  # type: ignore[return-value]


def parse_rectangles(text: str | bytes, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Parse and validate `rectangles` against the image size (x, y, width, height)."""
    try:
        items = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise DetectionInputError(f"rectangles is not valid JSON ({error}); {RECTANGLES_HINT}") from None
    if not isinstance(items, list) or not items:
        raise DetectionInputError(f"rectangles must be a non-empty JSON list; {RECTANGLES_HINT}")
    rects = [_rectangle(item, index) for index, item in enumerate(items)]
    for index, (x, y, w, h) in enumerate(rects):
        if x < 0 or y < 0 or w <= 0 or h <= 0:
            raise DetectionInputError(f"rectangle {index} {[x, y, w, h]}: x and y must be >= 0, width and height > 0")
        if x + w > width or y + h > height:
            raise DetectionInputError(
                f"rectangle {index} {[x, y, w, h]} leaves the {width}x{height} image; keep x+width <= "
                f"{width} and y+height <= {height}"
            )
    return rects


def rectangles_mask(rects: Sequence[tuple[int, int, int, int]], height: int, width: int) -> np.ndarray:
    """uint8 mask, 255 inside every rectangle."""
    mask = np.zeros((height, width), np.uint8)
    for x, y, w, h in rects:
        mask[y : y + h, x : x + w] = 255
    return mask
