"""One image through the model, per request: read, decode, choose the mask (detect when
none is given), plan, call Triton, assemble, encode.

Shared by the single-image and the batch routes. CPU work runs in worker threads, and all
windows of one image are sent at once, all under one model version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from anyio import to_thread
from fastapi import UploadFile

from lama_serve.core.settings import Settings
from lama_serve.detect.types import DetectionResult
from lama_serve.gateway.deps import Services
from lama_serve.gateway.detection.masking import MaskOptions, MaskSource, choose_mask
from lama_serve.gateway.errors import PayloadTooLarge, TooMuchWork
from lama_serve.gateway.inpaint import cost, imaging, tiling
from lama_serve.gateway.inpaint.budget import Budget, BudgetExceeded, Meter, model_pixels
from lama_serve.gateway.inpaint.imaging import DecodedImage, OutputFormat
from lama_serve.gateway.inpaint.mask import MaskField
from lama_serve.gateway.inpaint.pipeline import assemble, plan
from lama_serve.gateway.inpaint.tiling import Strategy, Window
from lama_serve.gateway.tasks import gather_or_cancel
from lama_serve.gateway.triton import Inpainted, TritonModel


@dataclass(frozen=True)
class Inpainting:
    encoded: bytes
    size: str  # original `WxH`
    strategy: Strategy
    windows: int  # Triton calls made; 0 when the mask has no hole
    model_version: str | None  # None when no call was made and no version is pinned
    mask_source: MaskSource
    regions: int | None  # detected regions removed; None when the client gave the mask


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


async def infer_all(
    triton: TritonModel,
    tiles: list[tuple[np.ndarray, np.ndarray]],
    version: str | None,
    timeout_s: float | None = None,
) -> list[Inpainted]:
    """All tiles at once, so equal shapes meet in Triton's batcher; all share the request's deadline."""
    return await gather_or_cancel(triton.infer(img[None], m[None, ..., None], version, timeout_s) for img, m in tiles)


def inference_deadline(settings: Settings, windows: list[Window]) -> float:
    """The request's deadline for its pixels; TooMuchWork when the estimate exceeds the maximum."""
    time, pixels = cost.InferenceTime.from_settings(settings), cost.pixels_sent(w.shape for w in windows)
    if cost.too_slow(pixels, time):
        raise TooMuchWork(
            f"This request would send {pixels / cost.MEGAPIXEL:.1f} megapixels to the model, about "
            f"{cost.estimated_seconds(pixels, time):.0f} s of work (at most {time.max_estimated_s:g} s "
            "is accepted). Send hd_strategy=crop (only windows around the mask are inpainted), or a "
            "smaller image."
        )
    return cost.deadline_seconds(pixels, time)


@dataclass(frozen=True)
class Loaded:
    """One uploaded image decoded, with its mask still as bytes (decoded at the image's size)."""

    decoded: DecodedImage
    mask_bytes: bytes | None


async def load(services: Services, image: UploadFile, mask: UploadFile | None) -> Loaded:
    """Read and decode the image; every failure leaves as an `ApiError`."""
    settings, metrics = services.settings, services.metrics
    image_bytes = await read_upload(image, settings.max_upload_bytes, "Image")
    mask_bytes = await read_upload(mask, settings.max_upload_bytes, "Mask") if mask is not None else None
    metrics.payload.labels(direction="request").observe(len(image_bytes) + len(mask_bytes or b""))
    with metrics.stage("decode"):
        decoded = await to_thread.run_sync(imaging.decode_image, image_bytes, services.limits)
    return Loaded(decoded, mask_bytes)


async def inpaint(
    services: Services,
    triton: TritonModel,
    version: str | None,
    image: UploadFile,
    mask: UploadFile | None,
    fmt: OutputFormat,
    hd_strategy: Strategy | None,
    options: MaskOptions = MaskOptions(),
    meter: Meter | None = None,
) -> Inpainting:
    """Encoded result of one image/mask pair; every failure leaves as an `ApiError`.
    `meter`: the memory budget shared with the other items of a batch (None: its own)."""
    loaded = await load(services, image, mask)
    return await inpaint_loaded(services, triton, version, loaded, fmt, hd_strategy, options, meter=meter)


async def inpaint_loaded(
    services: Services,
    triton: TritonModel,
    version: str | None,
    loaded: Loaded,
    fmt: OutputFormat,
    hd_strategy: Strategy | None,
    options: MaskOptions,
    detected: DetectionResult | None = None,
    meter: Meter | None = None,
) -> Inpainting:
    """Choose the mask (`detected`: found beforehand, e.g. shared over a batch), then inpaint.
    `meter`: the memory budget shared with the other items of a batch (None: its own)."""
    settings, metrics = services.settings, services.metrics
    choice = await choose_mask(services, loaded.decoded, loaded.mask_bytes, options, detected)
    decoded, mask = choice.image, MaskField(choice.gray, settings.mask_threshold)
    shape = decoded.rgb.shape[:2]
    strategy = tiling.choose_strategy(hd_strategy, shape, settings.hd_strategy_crop_trigger)
    with metrics.stage("preprocess"):
        windows = await to_thread.run_sync(plan, settings, strategy, shape, mask)
        deadline_s = inference_deadline(settings, windows)
        reserve(meter or Meter(Budget.from_settings(settings)), windows, f"`{strategy}` on {decoded.size_label}")
        tiles = await to_thread.run_sync(lambda: [tiling.extract(decoded.rgb, mask, window) for window in windows])
    with metrics.stage("triton"):
        results = await infer_all(triton, tiles, version, deadline_s)
    with metrics.stage("encode"):
        blended = await to_thread.run_sync(assemble, decoded, mask, windows, [r.pixels for r in results])
        encoded = await to_thread.run_sync(
            imaging.encode, blended, decoded.alpha, fmt, settings.png_compress_level, settings.lossy_quality
        )
    metrics.payload.labels(direction="response").observe(len(encoded))
    served = results[0].model_version if results else version
    return Inpainting(encoded, decoded.size_label, strategy, len(windows), served, choice.source, choice.regions)
