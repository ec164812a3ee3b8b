"""Planning and assembling the model calls of one image: pure array work, no HTTP.

Only windows around the mask's holes go to Triton (`tiling`), each padded to a bucket shape
so Triton's dynamic batcher groups them with the windows of other requests; results are
pasted back and gray mask values blended. `gateway.processing` drives it per request.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from lama_serve.core.settings.requests import RequestSettings
from lama_serve.gateway.inpaint import imaging, tiling
from lama_serve.gateway.inpaint.budget import Budget, model_pixels
from lama_serve.gateway.inpaint.imaging import DecodedImage
from lama_serve.gateway.inpaint.mask import MaskField
from lama_serve.gateway.inpaint.tiling import Strategy, Window


def plan(settings: RequestSettings, strategy: Strategy, shape: tuple[int, int], mask: MaskField) -> list[Window]:
    """The windows of `strategy`. `resize` is capped to the memory budget; `crop` gives way
    to the whole image, resized to fit the budget, past `max_windows_per_request` (a mask of
    many scattered regions) or when its windows would not fit together."""
    fitting = Budget.from_settings(settings)
    plan_for = partial(
        tiling.plan,
        image_hw=shape,
        mask=mask,
        margin=settings.hd_strategy_crop_margin,
        resize_limit=min(settings.hd_strategy_resize_limit, fitting.longest_side(shape)),
        buckets=settings.tile_buckets,
    )
    windows = plan_for(strategy)
    too_many = len(windows) > settings.max_windows_per_request
    if strategy == "crop" and (too_many or not fitting.fits(model_pixels(windows))):
        return plan_for("resize")
    return windows


def assemble(decoded: DecodedImage, mask: MaskField, windows: list[Window], results: list[np.ndarray]) -> np.ndarray:
    """Paste each window's holes back, then blend gray mask values with the original. Only
    inside each window's region: every hole lies in exactly one (regions are disjoint) and
    nothing outside changes, so a 4096-px photo with a logo skips a 16-Mpx float blend."""
    out = decoded.rgb.copy()
    for window, result in zip(windows, results, strict=True):
        tiling.paste(decoded.rgb, mask, window, result, out=out)
        area = window.region.slices
        out[area] = imaging.blend(decoded.rgb[area], out[area], mask.alpha[area])
    return out
