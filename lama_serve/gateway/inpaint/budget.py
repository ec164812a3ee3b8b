"""What a request may cost the model, estimated from its shapes before Triton is called.

LaMa's peak memory (and time) grows with the pixels of the tiles it runs at once: Triton's
dynamic batcher may run all windows of one request, or all items of one batch, as one call,
so their pixels add up. Calibration (ONNX Runtime f32 on CPU, the `up` default), issue 17's
measurement of big-lama: a 2048x2048 `original` call held the stub at ~9 GB for ~55 s, i.e.
~2150 bytes (INFERENCE_BYTES_PER_PIXEL's default; set another runtime's figure there) and
~13 us per model pixel. Check (big-lama export, random weights, 2 shared cores): the largest
`original` the default 6 GiB budget allows, 1728x1728, peaked the stub at 4.8 GiB (1.1 GiB
after warmup) in 114 s, so the estimate is conservative by ~25%. Pure arithmetic: no I/O, no HTTP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from lama_serve.core.contract import SPATIAL_MULTIPLE
from lama_serve.core.settings.requests import RequestSettings
from lama_serve.gateway.inpaint.tiling import Window

# big-lama, ONNX Runtime f32 on CPU: ~55 s at 2048x2048 (issue 17); memory: the setting.
BIG_LAMA_CPU_SECONDS_PER_MEGAPIXEL = 55.0 / (2048 * 2048 / 1e6)


class BudgetExceeded(ValueError):
    """The request's model calls would exceed the memory budget; the message says what to send."""


def model_pixels(windows: Iterable[Window]) -> int:
    """Pixels the model runs for `windows` (padded tile shapes)."""
    return sum(window.shape[0] * window.shape[1] for window in windows)


def _round_up(value: float) -> int:
    return math.ceil(value / SPATIAL_MULTIPLE) * SPATIAL_MULTIPLE


@dataclass(frozen=True)
class Budget:
    """At most `max_bytes` of model memory for what one request runs at once."""

    max_bytes: float
    bytes_per_pixel: float

    @classmethod
    def from_settings(cls, settings: RequestSettings) -> Budget:
        return cls(settings.inference_memory_budget_mb * 2**20, settings.inference_bytes_per_pixel)

    @property
    def max_pixels(self) -> int:
        return int(self.max_bytes / self.bytes_per_pixel)

    def fits(self, pixels: int) -> bool:
        return pixels <= self.max_pixels

    def longest_side(self, image_hw: tuple[int, int]) -> int:
        """The longest side an image of this aspect may be resized to and still fit (its
        short side rounded up to the model's multiple, as the padding does)."""
        long_side, short_side = max(image_hw), min(image_hw)
        side = int(math.sqrt(self.max_pixels * long_side / short_side)) // SPATIAL_MULTIPLE * SPATIAL_MULTIPLE
        while side > SPATIAL_MULTIPLE and side * _round_up(side * short_side / long_side) > self.max_pixels:
            side -= SPATIAL_MULTIPLE
        return max(side, SPATIAL_MULTIPLE)

    def check(self, pixels: int, what: str) -> None:
        """Raise `BudgetExceeded` when `pixels` model pixels would not fit."""
        if not self.fits(pixels):
            raise BudgetExceeded(
                f"{what} needs about {pixels * self.bytes_per_pixel / 2**30:.1f} GiB of model "
                f"memory ({pixels / 1e6:.1f} Mpx), over this server's budget of "
                f"{self.max_bytes / 2**30:.1f} GiB ({self.max_pixels / 1e6:.1f} Mpx). Send "
                "hd_strategy=crop (or resize), a smaller image, or fewer items per batch."
            )


class Meter:
    """Model pixels reserved so far by one request (the items of a batch share one)."""

    def __init__(self, budget: Budget) -> None:
        self.budget, self.used = budget, 0

    def reserve(self, pixels: int, what: str) -> None:
        self.budget.check(self.used + pixels, what)
        self.used += pixels
