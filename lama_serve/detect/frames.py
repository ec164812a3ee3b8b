"""Lining up a batch's items of different sizes: each put at one anchor of a shared canvas.

A mark put on photos of different sizes sits at the same place from a corner (or the
centre) of each, so the items line up once each is put at that anchor of a canvas as large
as the largest: detect.shared takes the median of their gradients where every item covers
the canvas, detect.consensus lets their own detections vote wherever enough items cover it
(a mark near the far edge lies outside the smaller items), then takes the agreed mark back
into each item. Same-size items fill the canvas: every step is then the identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ANCHORS = ("top-left", "top-right", "bottom-left", "bottom-right", "centre")


@dataclass(frozen=True)
class Frame:
    """Items of `shapes` (H, W) put at `anchor` (one of ANCHORS) of a canvas of the largest size."""

    anchor: str
    shapes: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, planes: Sequence[np.ndarray], anchor: str = ANCHORS[0]) -> Frame:
        return cls(anchor, tuple((int(p.shape[0]), int(p.shape[1])) for p in planes))

    @property
    def size(self) -> tuple[int, int]:
        return max(s[0] for s in self.shapes), max(s[1] for s in self.shapes)

    def offset(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(top, left) of an item of `shape` in the canvas."""
        (height, width), (vertical, horizontal) = self.size, (self.anchor.split("-")[0], self.anchor.split("-")[-1])
        top = {"top": 0, "bottom": height - shape[0]}.get(vertical, (height - shape[0]) // 2)
        left = {"left": 0, "right": width - shape[1]}.get(horizontal, (width - shape[1]) // 2)
        return top, left

    def region(self, shape: tuple[int, ...]) -> tuple[slice, slice]:
        """Where an item of `shape` lies in the canvas."""
        top, left = self.offset(shape)
        return slice(top, top + shape[0]), slice(left, left + shape[1])

    def common(self) -> tuple[slice, slice]:
        """The part of the canvas that every item covers."""
        corners = [(self.offset(s), s) for s in self.shapes]
        rows = slice(max(t for (t, _), _ in corners), min(t + s[0] for (t, _), s in corners))
        columns = slice(max(x for (_, x), _ in corners), min(x + s[1] for (_, x), s in corners))
        return rows, columns

    def reaches_beyond(self, box: tuple[slice, slice], shape: tuple[int, int]) -> bool:
        """Whether `box`, in the common part (of `shape`), reaches one of its sides past which
        some item lies (a side of the canvas does not count)."""
        (rows, columns), (height, width) = self.common(), self.size
        return (
            (box[0].start == 0 and rows.start > 0)
            or (box[1].start == 0 and columns.start > 0)
            or (box[0].stop == shape[0] and rows.stop < height)
            or (box[1].stop == shape[1] and columns.stop < width)
        )

    def cut(self, plane: np.ndarray) -> np.ndarray:
        """The part of an item's `plane` that lies in `common()`."""
        (top, left), (rows, columns) = self.offset(plane.shape), self.common()
        return plane[rows.start - top : rows.stop - top, columns.start - left : columns.stop - left]

    def put(self, plane: np.ndarray) -> np.ndarray:
        """The canvas holding an item's (H, W) `plane` at its place, zero elsewhere."""
        canvas = np.zeros(self.size, plane.dtype)
        canvas[self.region(plane.shape)] = plane
        return canvas

    def take(self, canvas: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The part of `canvas` where an item of `shape` lies."""
        return canvas[self.region(shape)]
