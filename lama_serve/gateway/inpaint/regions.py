"""Where the holes are: boxes around a mask's 8-connected regions, merged by margin.

Pure numpy (no scipy in the gateway image). Connected components are found over
horizontal runs with the detectors' vectorized union-find, so a 4096x4096 mask with a logo costs
milliseconds. Masks fragmented past MAX_RUNS runs or MAX_REGIONS regions (noise,
dithering) are treated as one region: exact labels would cost seconds and such masks
span the image anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lama_serve.detect.components import union_roots

MAX_RUNS = 1 << 18  # row runs of holes; a 4096-px logo has ~4k
MAX_REGIONS = 1024  # regions before merging, which compares every pair


@dataclass(frozen=True, order=True)
class Box:
    """Pixel rectangle, half-open: rows top..bottom-1, columns left..right-1."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


def _group_boxes(coords: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Bounding box (top, left, bottom, right) of each label's rows in `coords`."""
    _, inverse = np.unique(labels, return_inverse=True)
    out = np.empty((inverse.max() + 1, 4), np.int64)
    out[:, :2], out[:, 2:] = np.iinfo(np.int64).max, -1
    np.minimum.at(out[:, :2], inverse, coords[:, :2])
    np.maximum.at(out[:, 2:], inverse, coords[:, 2:])
    return out


def _as_boxes(coords: np.ndarray) -> list[Box]:
    return [Box(*map(int, row)) for row in coords[np.lexsort(coords.T[::-1])]]


def _hole_regions(holes: np.ndarray) -> np.ndarray:
    """(k, 4) boxes of the 8-connected regions of the boolean `holes`.

    Labels horizontal runs, not pixels: a run touches the runs of the next row whose
    columns overlap it or meet it diagonally, found for all runs at once by binary search.
    """
    rows_hit = np.nonzero(holes.any(axis=1))[0]
    if rows_hit.size == 0:
        return np.empty((0, 4), np.int64)
    cols_hit = np.nonzero(holes.any(axis=0))[0]
    top, left = rows_hit[0], cols_hit[0]
    holes = holes[top : rows_hit[-1] + 1, left : cols_hit[-1] + 1]  # label only the holes' bounding box
    edges = np.diff(np.pad(holes, ((0, 0), (1, 1))).view(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    ends = np.nonzero(edges == -1)[1]  # exclusive; same order as the starts
    if rows.size > MAX_RUNS:
        return np.array([[top, left, top + holes.shape[0], left + holes.shape[1]]], np.int64)
    stride = holes.shape[1] + 2
    first = np.searchsorted(rows * stride + ends, (rows + 1) * stride + starts, side="left")
    last = np.searchsorted(rows * stride + starts, (rows + 1) * stride + ends, side="right") - 1
    counts = np.maximum(last - first + 1, 0)
    runs = np.repeat(np.arange(rows.size), counts)  # edge i joins runs[i] ...
    skip = np.repeat(first - np.cumsum(counts) + counts, counts)
    touching = skip + np.arange(counts.sum())  # ... to first[run], first[run] + 1, ...
    labels = union_roots(rows.size, runs, touching)
    coords = np.stack([rows, starts, rows + 1, ends], axis=1).astype(np.int64)
    return _group_boxes(coords, labels) + np.array([top, left, top, left])


def mask_boxes(holes: np.ndarray) -> list[Box]:
    """Bounding boxes of the 8-connected regions of the boolean `holes`, sorted. A mask of
    more than MAX_RUNS row runs (noise) gives the one box around all its holes."""
    return _as_boxes(_hole_regions(holes))


def _merge(coords: np.ndarray, margin: int) -> np.ndarray:
    if len(coords) > MAX_REGIONS:
        coords = np.concatenate([coords[:, :2].min(0), coords[:, 2:].max(0)])[None]
    while len(coords) > 1:
        grown = coords + np.array([-margin, -margin, margin, margin])
        t, l, b, r = (grown[:, i] for i in range(4))
        overlap = (t[:, None] <= b) & (t <= b[:, None]) & (l[:, None] <= r) & (l <= r[:, None])
        first, second = np.nonzero(np.triu(overlap, 1))
        if first.size == 0:
            break
        coords = _group_boxes(coords, union_roots(len(coords), first, second))
    return coords


def merge_boxes(boxes: Sequence[Box], margin: int) -> list[Box]:
    """Merge, until stable, boxes that overlap or touch once grown by `margin` on each
    side: their windows would share context, so one window serves both. More than
    MAX_REGIONS boxes merge into one."""
    coords = np.array([[b.top, b.left, b.bottom, b.right] for b in boxes], np.int64).reshape(-1, 4)
    return _as_boxes(_merge(coords, margin))


def merged_regions(holes: np.ndarray, margin: int) -> list[Box]:
    """merge_boxes(mask_boxes(holes), margin) without a Box per raw region."""
    return _as_boxes(_merge(_hole_regions(holes), margin))
