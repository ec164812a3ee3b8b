"""gateway.inpaint.cost: the inference deadline grows with the pixels sent; the estimate caps it."""

from __future__ import annotations

import pytest

from lama_serve.core.settings import Settings
from lama_serve.gateway.inpaint.cost import (
    InferenceTime,
    deadline_seconds,
    estimated_seconds,
    longest_deadline_s,
    pixels_sent,
    too_slow,
)

TIME = InferenceTime(base_s=60.0, seconds_per_megapixel=10.0, max_estimated_s=240.0)


def test_pixels_count_every_tile_with_its_padding() -> None:
    assert pixels_sent([(512, 512), (768, 512)]) == 512 * 512 + 768 * 512
    assert pixels_sent([]) == 0


def test_deadline_is_base_plus_rate_per_megapixel() -> None:
    assert estimated_seconds(2_000_000, TIME) == pytest.approx(20.0)
    assert deadline_seconds(0, TIME) == 60.0
    # a 2400x1600 `original` request: 3.84 Mpx -> 98.4 s, no longer cut at 60 s
    assert deadline_seconds(pixels_sent([(1600, 2400)]), TIME) == pytest.approx(98.4)
    assert longest_deadline_s(TIME) == 300.0


def test_requests_over_the_maximum_estimate_are_too_slow() -> None:
    assert not too_slow(24_000_000, TIME)  # exactly 240 s
    assert too_slow(24_000_001, TIME)
    assert not too_slow(pixels_sent([(4096, 4096)]), TIME)  # 16.8 Mpx: 168 s
    assert too_slow(pixels_sent([(4096, 4096)]), InferenceTime(60.0, 10.0, 150.0))


def test_settings_defaults() -> None:
    time = InferenceTime.from_settings(Settings(_env_file=None))
    assert time == InferenceTime(60.0, 10.0, 240.0)
