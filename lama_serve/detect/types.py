"""The detectors' shared vocabulary: one result type and one error root for all of them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from lama_serve.core.errors import LamaServeError


class DetectionError(LamaServeError):
    """Root of every error raised by `lama_serve.detect`."""


class DetectionInputError(DetectionError, ValueError):
    """A caller-supplied mask convenience (rectangles, grow_mask, alpha) is invalid."""


class DetectionConfigError(DetectionError):
    """The detector set or a detector's files are misconfigured (fix the settings)."""


@dataclass(frozen=True)
class Region:
    """One detected area, as reported by `/api/v1/detect` (pixels, half-open box)."""

    x: int
    y: int
    width: int
    height: int
    score: float
    kind: str

    def as_dict(self) -> dict[str, int | float | str]:
        return {
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "score": round(float(self.score), 4),
            "kind": self.kind,
        }


@dataclass(frozen=True)
class DetectionResult:
    """What a detector found in one image.

    mask: uint8 HxW, 255 = inpaint. regions: every candidate, also those kept out of the
    mask (lower scores). restored: the image with semi-transparent marks un-blended, when a
    detector could undo the blend exactly (the mask then covers only what is left to inpaint).
    """

    mask: np.ndarray
    regions: tuple[Region, ...] = ()
    restored: np.ndarray | None = field(default=None, compare=False)

    @property
    def coverage(self) -> float:
        """Fraction of the image's pixels in the mask."""
        return float(np.count_nonzero(self.mask)) / max(self.mask.size, 1)

    @property
    def watermark_found(self) -> bool:
        """True when something is to be removed (inpainted or un-blended)."""
        return bool(self.mask.any()) or self.restored is not None

    def resized(self, shape: tuple[int, ...]) -> DetectionResult:
        """This result, found on a scaled copy of an image, at the image's `shape` (H, W, ...):
        the mask scaled (nearest pixel), each box scaled to cover its area; `restored` as is."""
        height, width = shape[:2]
        if self.mask.shape == (height, width):
            return self
        fy, fx = height / self.mask.shape[0], width / self.mask.shape[1]
        rows = np.minimum((np.arange(height) / fy).astype(np.int64), self.mask.shape[0] - 1)
        cols = np.minimum((np.arange(width) / fx).astype(np.int64), self.mask.shape[1] - 1)

        def scaled(r: Region) -> Region:
            x, y = math.floor(r.x * fx), math.floor(r.y * fy)
            right, bottom = math.ceil((r.x + r.width) * fx), math.ceil((r.y + r.height) * fy)
            return replace(r, x=x, y=y, width=right - x, height=bottom - y)

        return replace(self, mask=self.mask[rows][:, cols], regions=tuple(scaled(r) for r in self.regions))

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> DetectionResult:
        return cls(mask=np.zeros(shape[:2], np.uint8))
