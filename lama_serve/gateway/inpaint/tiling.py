"""Inpaint only where the mask is: windows around the mask's regions, in a few shapes.

LaMa's cost grows with the pixels it sees, and Triton's dynamic batcher only batches
equal shapes. So a 200-px logo on a 4096x4096 photo becomes one 512x512 window, not a
16-Mpx call: the mask's 8-connected regions are boxed, boxes whose context margins
touch are merged, and each merged region gets a square window of the smallest bucket
side that holds it plus its margin. A region too large for the biggest bucket is
downscaled to fit it. Every tile is padded (mirror, as LaMa was trained) to a bucket
shape, and pasting writes back only hole pixels of the window's own region, so pixels
outside the mask never change and overlapping windows never fight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

import numpy as np
from PIL import Image

from lama_serve.core.contract import MIN_SIDE, SPATIAL_MULTIPLE
from lama_serve.gateway.inpaint.mask import MaskField
from lama_serve.gateway.inpaint.regions import Box, merged_regions

Strategy = Literal["original", "crop", "resize"]  # IOPaint's HDStrategy names
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)
DEFAULT_BUCKETS = (512, 768, 1024)
DEFAULT_MARGIN = 128
DEFAULT_CROP_TRIGGER = 1024  # longest side above which `crop` is the default
DEFAULT_RESIZE_LIMIT = 2048  # longest side the `resize` strategy sends to the model


@dataclass(frozen=True)
class Window:
    """One model call: crop `box`, resize it to `size`, pad to `shape`; paste back the
    holes inside `region` (the merged mask region, within `box`)."""

    region: Box
    box: Box
    # (h, w) of the crop after resizing: the box's own unless it was scaled down
    size: tuple[int, int]
    shape: tuple[int, int]  # (h, w) of the model tile, a bucket shape

    @property
    def pad(self) -> tuple[int, int]:
        """Mirror padding added at the bottom and right."""
        return self.shape[0] - self.size[0], self.shape[1] - self.size[1]

    @property
    def scale(self) -> float:
        """Tile pixels per image pixel; 1.0 unless the region needed downscaling."""
        return max(self.size) / max(self.box.height, self.box.width)


def _round_up(value: int) -> int:
    return -(-value // SPATIAL_MULTIPLE) * SPATIAL_MULTIPLE


def bucket_shape(height: int, width: int, buckets: Sequence[int] = DEFAULT_BUCKETS) -> tuple[int, int]:
    """Tile shape for a (height, width) crop: each side padded to the smallest bucket that
    holds it, so crops of different sizes batch together; beyond the biggest bucket
    shapes cannot be shared, so both sides only round up to the spatial multiple. Never
    below the model's MIN_SIDE: a smaller tile would fail inside the runtime."""
    if any(b % SPATIAL_MULTIPLE for b in buckets):
        raise ValueError(f"buckets must be multiples of {SPATIAL_MULTIPLE}: {tuple(buckets)}")
    if max(height, width) > max(buckets):
        shape = _round_up(height), _round_up(width)
    else:
        shape = min(b for b in buckets if b >= height), min(b for b in buckets if b >= width)
    return max(shape[0], MIN_SIDE), max(shape[1], MIN_SIDE)


def _place(start: int, length: int, side: int, limit: int) -> tuple[int, int]:
    """[lo, hi) of `side` pixels (at most `limit`) centred on [start, start+length),
    shifted, not shrunk, to stay inside [0, limit)."""
    side = min(side, limit)
    lo = min(max(start - (side - length) // 2, 0), limit - side)
    return lo, lo + side


def _region_window(image_hw: tuple[int, int], region: Box, margin: int, buckets: Sequence[int]) -> Window:
    """Square window of the smallest bucket side holding region + margin (clipped to the
    image); past the biggest bucket, a window of region + margin scaled down to it."""
    height, width = image_hw
    need = max(min(region.height + 2 * margin, height), min(region.width + 2 * margin, width))
    bucket = min((b for b in buckets if b >= need), default=None)
    side = bucket or need
    top, bottom = _place(region.top, region.height, side, height)
    left, right = _place(region.left, region.width, side, width)
    box = Box(top, left, bottom, right)
    size = (box.height, box.width)
    if bucket is None:
        biggest = max(buckets)
        size = (
            max(1, round(box.height * biggest / side)),
            max(1, round(box.width * biggest / side)),
        )
    return Window(region, box, size, bucket_shape(*size, buckets))


def plan_windows(
    image_hw: tuple[int, int],
    holes: np.ndarray,
    *,
    margin: int,
    buckets: Sequence[int] = DEFAULT_BUCKETS,
) -> list[Window]:
    """One window per merged region of the boolean `holes`; [] when there is none."""
    regions = merged_regions(holes, margin)
    return [_region_window(image_hw, region, margin, buckets) for region in regions]


def choose_strategy(requested: str | None, image_hw: tuple[int, int], trigger: int) -> Strategy:
    """The requested strategy, else `crop` when the longest side exceeds `trigger`
    (whole-image calls would be slow and mostly wasted), else `original`."""
    if requested is None:
        return "crop" if max(image_hw) > trigger else "original"
    if requested not in STRATEGIES:
        raise ValueError(f"unknown strategy {requested!r}; use one of {', '.join(STRATEGIES)}")
    return cast(Strategy, requested)


def whole_window(image_hw: tuple[int, int], limit: int | None, buckets: Sequence[int]) -> Window:
    """The whole image as one window, downscaled so its longest side is at most `limit`
    (None: never), padded to a bucket shape so small images of any size batch together."""
    height, width = image_hw
    scale = min(1.0, limit / max(image_hw)) if limit else 1.0
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    whole = Box(0, 0, height, width)
    return Window(whole, whole, size, bucket_shape(*size, buckets))


def plan(
    strategy: Strategy,
    image_hw: tuple[int, int],
    mask: MaskField,
    *,
    margin: int = DEFAULT_MARGIN,
    resize_limit: int = DEFAULT_RESIZE_LIMIT,
    buckets: Sequence[int] = DEFAULT_BUCKETS,
) -> list[Window]:
    """Windows to inpaint for `strategy`; [] when the mask has no hole (nothing to do).

    `crop` gives way to the whole image when its tiles would hold as many pixels (many
    scattered regions): more calls for no less work.
    """
    if mask.empty:
        return []
    whole = whole_window(image_hw, resize_limit if strategy == "resize" else None, buckets)
    if strategy != "crop":
        return [whole]
    windows = plan_windows(image_hw, mask.holes, margin=margin, buckets=buckets)
    cost = sum(w.shape[0] * w.shape[1] for w in windows)
    return windows if cost < whole.shape[0] * whole.shape[1] else [whole]


def _resize(array: np.ndarray, hw: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    if array.shape[:2] == hw:
        return array
    return np.asarray(Image.fromarray(array).resize((hw[1], hw[0]), resample))


def extract(image: np.ndarray, mask: MaskField, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs of one window: (shape + (3,)) uint8 image and (shape) 0/255 mask.

    The mask is downscaled by area and any touched pixel stays a hole, so a thin stroke
    never vanishes from a resized window.
    """
    rows, cols = window.box.slices
    tile = _resize(image[rows, cols], window.size, Image.Resampling.BICUBIC)
    holes = np.where(mask.holes[rows, cols], 255, 0).astype(np.uint8)
    holes = np.where(_resize(holes, window.size, Image.Resampling.BOX) > 0, 255, 0).astype(np.uint8)
    pad = ((0, window.pad[0]), (0, window.pad[1]))
    tile = np.pad(tile, (*pad, (0, 0)), mode="symmetric")
    return tile, np.pad(holes, pad, mode="symmetric")


def paste(
    original: np.ndarray,
    mask: MaskField,
    window: Window,
    inpainted: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """`original` with the window's result written at the mask's holes inside its
    region; every other pixel is copied. Pass `out` (e.g. a copy being filled by all
    windows) to write in place."""
    out = original.copy() if out is None else out
    result = _resize(
        inpainted[: window.size[0], : window.size[1]],
        (window.box.height, window.box.width),
        Image.Resampling.BICUBIC,
    )
    region, box = window.region, window.box
    local = Box(
        region.top - box.top,
        region.left - box.left,
        region.bottom - box.top,
        region.right - box.left,
    )
    holes = mask.holes[region.slices]
    out[region.slices][holes] = result[local.slices][holes]
    return out
