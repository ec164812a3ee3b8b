"""How long a request's inference should take, from the pixels it sends to the model.

A model call's time grows with its pixels (LaMa is convolutional), so one fixed deadline
is either too short for a large `original` request on CPU or far too long for a 512 px
tile. The deadline is a base (queueing, the first call at a new shape) plus a rate per
megapixel sent; a request whose estimate exceeds the maximum is refused before any work.
Pure functions, no FastAPI: the gateway and a request cost budget can both use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lama_serve.core.settings.requests import RequestSettings

MEGAPIXEL = 1_000_000


@dataclass(frozen=True)
class InferenceTime:
    """The deadline's settings (INFERENCE_TIMEOUT_S, INFERENCE_SECONDS_PER_MEGAPIXEL,
    INFERENCE_MAX_ESTIMATED_S)."""

    base_s: float
    seconds_per_megapixel: float
    max_estimated_s: float

    @classmethod
    def from_settings(cls, settings: RequestSettings) -> InferenceTime:
        return cls(
            settings.inference_timeout_s, settings.inference_seconds_per_megapixel, settings.inference_max_estimated_s
        )


def pixels_sent(shapes: Iterable[tuple[int, int]]) -> int:
    """Model-input pixels of a request: the (H, W) of every tile it sends, padding included."""
    return sum(height * width for height, width in shapes)


def estimated_seconds(pixels: int, time: InferenceTime) -> float:
    """Expected compute time of `pixels` model-input pixels."""
    return pixels / MEGAPIXEL * time.seconds_per_megapixel


def deadline_seconds(pixels: int, time: InferenceTime) -> float:
    """How long the gateway waits for all of a request's calls: the base plus the estimate."""
    return time.base_s + estimated_seconds(pixels, time)


def too_slow(pixels: int, time: InferenceTime) -> bool:
    """True when the estimate exceeds the maximum: refuse the request up front."""
    return estimated_seconds(pixels, time) > time.max_estimated_s


def longest_deadline_s(time: InferenceTime) -> float:
    """The deadline of the largest request not refused: the HTTP client's backstop."""
    return time.base_s + time.max_estimated_s
