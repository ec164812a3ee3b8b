"""Route plumbing shared by the single-image and batch routes: form and query parameters,
format negotiation, usage accounting and the documented headers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Form, Header, Query

from lama_serve.core.settings.detection import MAX_GROW_PIXELS
from lama_serve.gateway.deps import Services
from lama_serve.gateway.errors import error_responses
from lama_serve.gateway.inpaint.imaging import MEDIA_TYPES, OutputFormat
from lama_serve.gateway.inpaint.tiling import Strategy

_RATE_HEADERS = {
    "X-RateLimit-Limit": {"description": "Token bucket size of this key", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left right now", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {
        "description": "Unix time when the bucket is full again",
        "schema": {"type": "integer"},
    },
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}
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
            "description": "Triton model version that served it; absent when the mask had no "
            "hole (no model call) and no version is pinned",
            "schema": {"type": "string"},
        },
        "X-HD-Strategy": {
            "description": "Strategy used: `original`, `crop` or `resize`",
            "schema": {"type": "string"},
        },
        "X-Inpaint-Windows": {
            "description": "Model calls made for this image (0: nothing to inpaint)",
            "schema": {"type": "integer"},
        },
        "X-Mask-Source": {
            "description": "`upload` (mask, rectangles or transparency sent by the client), "
            "`detected` (found automatically) or `full` (MISSING_MASK=full: whole image)",
            "schema": {"type": "string", "enum": ["upload", "detected", "full"]},
        },
        "X-Watermark-Regions": {
            "description": "With `X-Mask-Source: detected`: watermark regions removed (0: none "
            "found, the image is returned unchanged)",
            "schema": {"type": "integer"},
        },
        **_RATE_HEADERS,
    },
}
RESPONSES = {200: _SUCCESS, **error_responses(400, 401, 413, 422, 429, 502, 503, 504)}
RESPONSES[422]["description"] = (
    "More work than the limits allow (estimated inference time); use hd_strategy=crop or a smaller image"
)
RESPONSES[429]["headers"] = {**_RATE_HEADERS, **_RETRY_AFTER}
RESPONSES[503]["headers"] = _RETRY_AFTER

_STRATEGY_HELP = (
    "How to treat large images: `original` (whole image in one call), `crop` (only windows "
    "around the mask's regions), `resize` (whole image downscaled to HD_STRATEGY_RESIZE_LIMIT). "
    "Default: `crop` when the longest side exceeds HD_STRATEGY_CROP_TRIGGER, else `original`."
)
HdStrategyForm = Annotated[Strategy | None, Form(description=_STRATEGY_HELP)]
HdStrategyQuery = Annotated[
    Strategy | None, Query(alias="hd_strategy", description="Same as the form field, which wins.")
]
FormatQuery = Annotated[OutputFormat | None, Query(alias="format", description="Output format; overrides Accept.")]
AcceptHeader = Annotated[str | None, Header(include_in_schema=False)]
GrowMaskForm = Annotated[
    int | None,
    Form(
        ge=0,
        le=MAX_GROW_PIXELS,
        description=f"Dilate the mask (sent, drawn by `rectangles`, or detected) by this many pixels "
        f"(0-{MAX_GROW_PIXELS}): covers halos, shadows and outlines around a mark. Unset: 0 for "
        "a mask you send, DETECTED_MASK_GROW (2) for a detected one, whose rim of blurred pixels "
        "would stay (send it along with a mask from `/api/v1/detect` for the same result).",
    ),
]
RectanglesForm = Annotated[
    str | None,
    Form(
        description="Instead of a mask: a JSON list of areas to remove, `[[x, y, width, height], ...]` "
        'or `[{"x": 10, "y": 20, "width": 100, "height": 40}]`, in image pixels.'
    ),
]


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


def result_headers(mask_source: str, regions: int | None) -> dict[str, str]:
    """X-Mask-Source, and X-Watermark-Regions when the mask was detected."""
    headers = {"X-Mask-Source": mask_source}
    if regions is not None:
        headers["X-Watermark-Regions"] = str(regions)
    return headers


@contextmanager
def recorded_usage(services: Services, key_id: str) -> Iterator[None]:
    """Count one request of `key_id` in `/api/v1/stats`: failed if anything escapes the block,
    else successful with the seconds it took."""
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        services.usage.record(key_id, ok=False, seconds=0.0)
        raise
    services.usage.record(key_id, ok=True, seconds=time.perf_counter() - started)
