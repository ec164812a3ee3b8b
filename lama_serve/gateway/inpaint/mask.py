"""The request's mask, split once: which pixels the model fills, and how much of its result
each pixel takes.

A client's mask is gray: white = remove, black = keep, gray = blend. Values above the
threshold (MASK_THRESHOLD) are holes for the model; the model's result is then blended back
with alpha = value / 255 there, and every pixel at or below the threshold keeps the original
bit for bit. Planning, tiling, pasting and blending read the two views from this one object
instead of re-deriving them from (gray, threshold) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True, eq=False)
class MaskField:
    """`gray`: HxW uint8 as the client drew it (at the image's size); `threshold`: 0..254."""

    gray: np.ndarray
    threshold: int = 0

    @cached_property
    def holes(self) -> np.ndarray:
        """HxW bool: the pixels the model fills."""
        return self.gray > self.threshold

    @cached_property
    def alpha(self) -> np.ndarray:
        """HxW float32 in [0, 1]: the share of the model's pixel each output pixel takes."""
        return np.where(self.holes, self.gray, 0).astype(np.float32) / 255.0

    @property
    def empty(self) -> bool:
        """Nothing to inpaint (no model call)."""
        return not self.holes.any()
