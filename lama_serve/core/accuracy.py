"""The bf16 accuracy gate: how far a reduced-precision output may drift from fp32.

Used at model load (backend), after export and by `lama-serve bench model`, so the bound
lives here, once. The gate (load and export alike: `gate_difference`) is defined on
`gate_inputs`: fixed photo-like images (smooth colour waves plus mild noise) against the same
model in f32. `bench model` reports the difference on white-noise inputs against PyTorch
eager instead, a harsher case (big-lama random weights at 512: 1.53 levels), not the gate.
Only the inpainted region counts: outside the mask the model copies the
input pixels, so including them would dilute the mean and hide real drift.

Bounds (uint8 levels, inpainted pixels only):
  mean <= 1.5: bf16 keeps ~3 significant digits; over a 0..255 output that is ~1 level of
        rounding noise on average (measured 1.2 on big-lama, issue 16). More means the
        reduced precision changed the picture, not just its last bit.
  max  <= 64: a quarter of the range. bf16 outliers reach ~13-20 levels where the
        generator's final sigmoid is steep; a pixel off by more than 64 is a visibly wrong
        colour (NaN/inf turned into 0 or 255, a broken kernel), not rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MAX_MEAN_LEVELS = 1.5
MAX_ABS_LEVELS = 64
# (height, width) of the fixed gate inputs: one square, one non-square; small enough that
# the fp32 reference costs ~1 s on 2 cores for big-lama, multiples of SPATIAL_MULTIPLE.
GATE_SHAPES: tuple[tuple[int, int], ...] = ((256, 256), (192, 320))
GATE_SEED = 16


@dataclass(frozen=True)
class RegionDifference:
    """|candidate - reference| over the inpainted pixels, in uint8 levels."""

    mean: float
    max: int

    def failure(self, max_mean: float = MAX_MEAN_LEVELS, max_abs: int = MAX_ABS_LEVELS) -> str | None:
        """Why this difference fails the gate, or None when it passes."""
        if self.mean > max_mean:
            return f"inpainted region differs by {self.mean:.2f} levels on average (bound {max_mean})"
        if self.max > max_abs:
            return f"an inpainted pixel differs by {self.max} levels (bound {max_abs})"
        return None


def region_difference(reference: np.ndarray, candidate: np.ndarray, mask: np.ndarray) -> RegionDifference:
    """Mean and max absolute difference of two [N,H,W,3] uint8 outputs where mask [N,H,W,1] > 0."""
    if reference.shape != candidate.shape or reference.shape[:3] != mask.shape[:3]:
        raise ValueError(f"shapes differ: {reference.shape}, {candidate.shape}, mask {mask.shape}")
    inside = np.broadcast_to(mask > 0, reference.shape)
    if not inside.any():
        raise ValueError("the mask is empty: there is no inpainted region to compare")
    diff = np.abs(reference.astype(np.int16) - candidate.astype(np.int16))[inside]
    return RegionDifference(mean=float(diff.mean()), max=int(diff.max()))


def combine(differences: list[RegionDifference]) -> RegionDifference:
    """Worst case over several inputs (the gate must hold for each)."""
    return RegionDifference(mean=max(d.mean for d in differences), max=max(d.max for d in differences))


def gate_inputs(
    shapes: tuple[tuple[int, int], ...] = GATE_SHAPES, seed: int = GATE_SEED
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed, photo-like (smooth, not white-noise) images with a centred rectangular hole."""
    rng = np.random.default_rng(seed)
    inputs = []
    for height, width in shapes:
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        phase = rng.uniform(0, 2 * np.pi, 3)
        smooth = np.stack([np.sin(x / (17 + 9 * c) + y / (23 + 5 * c) + phase[c]) for c in range(3)], -1)
        noise = rng.normal(0, 12, (height, width, 3))
        image = np.clip(127.5 + 90 * smooth + noise, 0, 255).astype(np.uint8)[None]
        mask = np.zeros((1, height, width, 1), np.uint8)
        mask[:, height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = 255
        inputs.append((image, mask))
    return inputs


Inpaint = Callable[[np.ndarray, np.ndarray], np.ndarray]


def gate_difference(reference: Inpaint, candidate: Inpaint) -> RegionDifference:
    """Worst difference of `candidate` from `reference` over the fixed gate inputs."""
    return combine([region_difference(reference(i, m), candidate(i, m), m) for i, m in gate_inputs()])
