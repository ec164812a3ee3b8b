"""One image through the model, per request: read, decode, plan, call Triton, assemble, encode.

Shared by the single-image and the batch routes. CPU work runs in worker threads, and all
windows of one image are sent at once, all under one model version.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from anyio import to_thread
from fastapi import UploadFile

from lama_serve.gateway.deps import Services
from lama_serve.gateway.errors import BadInput, PayloadTooLarge
from lama_serve.gateway.inpaint import imaging, tiling
from lama_serve.gateway.inpaint.budget import Budget, BudgetExceeded, Meter, model_pixels
from lama_serve.gateway.inpaint.imaging import OutputFormat
from lama_serve.gateway.inpaint.pipeline import assemble, plan
from lama_serve.gateway.inpaint.tiling import Strategy
from lama_serve.gateway.triton import Inpainted, TritonModel

T = TypeVar("T")


@dataclass(frozen=True)
class Inpainting:
    encoded: bytes
    size: str  # original `WxH`
    strategy: Strategy
    windows: int  # Triton calls made; 0 when the mask has no hole
    model_version: str | None  # None when no call was made and no version is pinned


async def read_upload(upload: UploadFile, limit: int, what: str) -> bytes:
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(f"{what} too large. Max size: {limit / 1024 / 1024:g}MB; send a smaller file.")
    return await upload.read()


def reserve(meter: Meter, windows: list[tiling.Window], what: str) -> None:
    """Count `windows` against the request's memory budget; 413 when they do not fit."""
    try:
        meter.reserve(model_pixels(windows), what)
    except BudgetExceeded as error:
        raise PayloadTooLarge(str(error)) from error


async def gather_or_cancel(calls: Iterable[Awaitable[T]]) -> list[T]:
    """asyncio.gather, except that when one call fails (or the client goes away) the others
    are cancelled rather than left computing, and failing, for nobody."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def infer_all(
    triton: TritonModel, tiles: list[tuple[np.ndarray, np.ndarray]], version: str | None
) -> list[Inpainted]:
    """All tiles at once, so equal shapes meet in Triton's batcher."""
    return await gather_or_cancel(triton.infer(img[None], m[None, ..., None], version) for img, m in tiles)


async def inpaint(
    services: Services,
    triton: TritonModel,
    version: str | None,
    image: UploadFile,
    mask: UploadFile | None,
    fmt: OutputFormat,
    hd_strategy: Strategy | None,
    meter: Meter | None = None,
) -> Inpainting:
    """Encoded result of one image/mask pair; every failure leaves as an `ApiError`.
    `meter`: the memory budget shared with the other items of a batch (None: its own)."""
    settings, metrics, threshold = services.settings, services.metrics, services.settings.mask_threshold
    image_bytes = await read_upload(image, settings.max_upload_bytes, "Image")
    mask_bytes = await read_upload(mask, settings.max_upload_bytes, "Mask") if mask is not None else None
    if mask_bytes is None and not settings.allow_missing_mask:
        raise BadInput(
            "A mask is required: send `mask` (white = remove, black = keep). "
            "Automatic watermark detection is not available yet."
        )
    metrics.payload.labels(direction="request").observe(len(image_bytes) + len(mask_bytes or b""))

    with metrics.stage("decode"):
        decoded = await to_thread.run_sync(imaging.decode_image, image_bytes, services.limits)
        shape = decoded.rgb.shape[:2]
        if mask_bytes is None:
            holes = np.full(shape, 255, np.uint8)
        else:
            holes = await to_thread.run_sync(imaging.decode_mask, mask_bytes, services.limits, shape)
    strategy = tiling.choose_strategy(hd_strategy, shape, settings.hd_strategy_crop_trigger)
    with metrics.stage("preprocess"):
        windows = await to_thread.run_sync(plan, settings, strategy, shape, holes)
        reserve(meter or Meter(Budget.from_settings(settings)), windows, f"`{strategy}` on {decoded.size_label}")
        tiles = await to_thread.run_sync(
            lambda: [tiling.extract(decoded.rgb, holes, window, threshold) for window in windows]
        )
    with metrics.stage("triton"):
        results = await infer_all(triton, tiles, version)
    with metrics.stage("encode"):
        blended = await to_thread.run_sync(
            assemble, decoded, holes, windows, [r.pixels for r in results], threshold)
        encoded = await to_thread.run_sync(
            imaging.encode, blended, decoded.alpha, fmt, settings.png_compress_level, settings.lossy_quality
        )
    metrics.payload.labels(direction="response").observe(len(encoded))
    served = results[0].model_version if results else version
    return Inpainting(encoded, decoded.size_label, strategy, len(windows), served)
