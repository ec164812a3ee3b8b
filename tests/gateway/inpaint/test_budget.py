"""The memory budget, with numbers: estimate, cap of `resize`, refusal message, batch meter."""

from __future__ import annotations

import numpy as np
import pytest

from lama_serve.core.settings import Settings
from lama_serve.gateway.inpaint.budget import Budget, BudgetExceeded, Meter, model_pixels
from lama_serve.gateway.inpaint.mask import MaskField
from lama_serve.gateway.inpaint.pipeline import plan

# 1 MiB at 1 byte per pixel: 1048576 model pixels, i.e. 1024x1024.
ONE_MPX = Budget(max_bytes=2**20, bytes_per_pixel=1.0)


def test_default_budget_refuses_the_issues_2048_original() -> None:
    budget = Budget.from_settings(Settings())
    assert not budget.fits(2048 * 2048)  # ~9 GB measured
    assert budget.fits(1024 * 1024)  # the largest crop bucket
    assert budget.max_pixels == int(6144 * 2**20 / (9e9 / 2048**2))  # 3.0 Mpx


def test_longest_side_fits_with_padding() -> None:
    assert ONE_MPX.longest_side((4096, 4096)) == 1024
    side = ONE_MPX.longest_side((1000, 3000))  # 3:1 -> 1768 x 592 (padded) <= 1 Mpx
    assert side % 8 == 0 and side * -(-side // 3 // 8) * 8 <= ONE_MPX.max_pixels
    assert ONE_MPX.longest_side((1000, 3000)) + 8 > (ONE_MPX.max_pixels * 3) ** 0.5 - 16


def test_refusal_names_the_alternatives() -> None:
    budget = Budget(max_bytes=2**30, bytes_per_pixel=1024.0)  # 1 GiB = 1 Mpx
    with pytest.raises(BudgetExceeded, match=r"hd_strategy=crop .*smaller image") as raised:
        budget.check(2048 * 2048, "`original` on 2048x2048")
    assert "about 4.0 GiB" in str(raised.value) and "budget of 1.0 GiB" in str(raised.value)


def test_meter_adds_the_items_of_a_batch() -> None:
    meter = Meter(ONE_MPX)
    meter.reserve(512 * 512 * 3, "item 0")
    with pytest.raises(BudgetExceeded):
        meter.reserve(512 * 512 * 2, "item 1")
    meter.reserve(512 * 512, "item 2")
    assert meter.used == 1024 * 1024


def _settings(**overrides: object) -> Settings:
    return Settings(inference_memory_budget_mb=64, inference_bytes_per_pixel=64.0, **overrides)  # 1 Mpx


def test_resize_is_capped_to_the_budget() -> None:
    holes = np.full((4096, 4096), 255, np.uint8)
    (window,) = plan(_settings(), "resize", (4096, 4096), MaskField(holes))
    assert window.shape == (1024, 1024)


def test_crop_that_would_not_fit_becomes_a_resized_whole_image() -> None:
    holes = np.zeros((3000, 3000), np.uint8)
    for row in (100, 1500, 2800):  # three far-apart 600 px regions: 3 x 768^2+ > 1 Mpx
        holes[row : row + 100, 100:700] = 255
        holes[row : row + 100, 2200:2800] = 255
    windows = plan(_settings(), "crop", (3000, 3000), MaskField(holes))
    assert len(windows) == 1 and model_pixels(windows) <= ONE_MPX.max_pixels
    assert windows[0].box.height == 3000  # the whole image
