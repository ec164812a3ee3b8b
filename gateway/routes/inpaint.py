"""`POST /api/v1/remove-watermark`: decode, call LaMa on Triton, blend, encode."""

from __future__ import annotations

import time
from typing import Annotated

import numpy as np
from anyio import to_thread
from fastapi import APIRouter, File, Header, Query, UploadFile
from fastapi.responses import Response

from export.contract import SPATIAL_MULTIPLE

from .. import imaging
from ..deps import ApiKeyDep, Services, ServicesDep, TritonDep
from ..errors import BadInput, PayloadTooLarge, error_responses
from ..imaging import MEDIA_TYPES, OutputFormat
from ..triton import TritonModel

router = APIRouter(prefix="/api/v1", tags=["Processing"])

_RATE_HEADERS = {
    "X-RateLimit-Limit": {"description": "Token bucket size of this key", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left right now", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {
        "description": "Unix time when the bucket is full again",
        "schema": {"type": "integer"},
    },
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}
_SUCCESS = {
    "description": "The inpainted image (PNG unless `format` or Accept asks otherwise).",
    "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()},
    "headers": {
        "X-Processing-Time": {"description": "Seconds spent in the gateway", "schema": {"type": "number"}},
        "X-Image-Size": {
            "description": "Original `WxH`",
            "schema": {"type": "string", "example": "1024x768"},
        },
        "X-Model-Version": {
            "description": "Triton model version that served it",
            "schema": {"type": "string"},
        },
        **_RATE_HEADERS,
    },
}
RESPONSES = {200: _SUCCESS, **error_responses(400, 401, 413, 429, 502, 503, 504)}
RESPONSES[429]["headers"] = {**_RATE_HEADERS, **_RETRY_AFTER}
RESPONSES[503]["headers"] = _RETRY_AFTER


def choose_format(requested: OutputFormat | None, accept: str | None, default: OutputFormat) -> OutputFormat:
    """`?format=` wins; else the Accept type with the highest q we can produce; else `default`."""
    if requested:
        return requested
    by_media = {media: fmt for fmt, media in MEDIA_TYPES.items()}
    ranked: list[tuple[float, str]] = []
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        q = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            ranked.append((float(q), media.lower()))
        except ValueError:
            continue
    for quality, media in sorted(ranked, key=lambda item: -item[0]):
        if quality > 0 and media in by_media:
            return by_media[media]
    return default


async def _read_upload(upload: UploadFile, limit: int, what: str) -> bytes:
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(f"{what} too large. Max size: {limit / 1024 / 1024:g}MB; send a smaller file.")
    return await upload.read()


async def _inpaint(
    services: Services, triton: TritonModel, image: UploadFile, mask: UploadFile | None, fmt: OutputFormat
) -> tuple[bytes, str, str]:
    """Encoded result, original `WxH` and serving model version. CPU work runs in threads."""
    settings, metrics, threshold = services.settings, services.metrics, services.settings.mask_threshold
    image_bytes = await _read_upload(image, settings.max_upload_bytes, "Image")
    mask_bytes = await _read_upload(mask, settings.max_upload_bytes, "Mask") if mask is not None else None
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
    with metrics.stage("preprocess"):
        batch = await to_thread.run_sync(
            imaging.model_inputs, decoded.rgb, holes, threshold, SPATIAL_MULTIPLE
        )
    with metrics.stage("triton"):
        result = await triton.infer(*batch)
    with metrics.stage("encode"):
        blended = await to_thread.run_sync(imaging.blend, decoded.rgb, result.pixels, holes, threshold)
        encoded = await to_thread.run_sync(
            imaging.encode, blended, decoded.alpha, fmt, settings.png_compress_level, settings.lossy_quality
        )
    metrics.payload.labels(direction="response").observe(len(encoded))
    return encoded, decoded.size_label, result.model_version


@router.post("/remove-watermark", response_class=Response, responses=RESPONSES)
async def remove_watermark(
    key_id: ApiKeyDep,
    services: ServicesDep,
    triton: TritonDep,
    image: Annotated[UploadFile, File(description="Image to process: JPEG, PNG or WebP.")],
    mask: Annotated[
        UploadFile | None,
        File(description="Mask, any size (resized NEAREST): white = remove, black = keep, gray = blend."),
    ] = None,
    output_format: Annotated[
        OutputFormat | None, Query(alias="format", description="Output format; overrides Accept.")
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Remove a watermark or object: the masked area is filled by LaMa, the rest is kept
    bit-identical in PNG output."""
    fmt = choose_format(output_format, accept, services.settings.output_format)
    started = time.perf_counter()
    try:
        encoded, size, version = await _inpaint(services, triton, image, mask, fmt)
    except Exception:
        services.usage.record(key_id, ok=False, seconds=0.0)
        raise
    elapsed = time.perf_counter() - started
    services.usage.record(key_id, ok=True, seconds=elapsed)
    headers = {"X-Processing-Time": f"{elapsed:.3f}", "X-Image-Size": size, "X-Model-Version": version}
    return Response(encoded, media_type=MEDIA_TYPES[fmt], headers=headers)
