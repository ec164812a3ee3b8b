"""Which mask a request gets: the client's (mask, `rectangles`, transparency) or a detected one.

Order: an uploaded `mask` wins, then `rectangles`, then the image's own transparency (an
editor erased the mark to alpha); without any of them MISSING_MASK decides: `detect` (run
the detectors), `reject` (400) or `full` (whole image). `grow_mask` dilates the result; unset,
a detected mask is grown by DETECTED_MASK_GROW (the rim the mark blurred into the photo).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from anyio import to_thread

from lama_serve.detect.combine import removed_regions
from lama_serve.detect.masks import grow_mask, mask_from_alpha, parse_rectangles, rectangles_mask
from lama_serve.detect.types import DetectionInputError, DetectionResult
from lama_serve.gateway.deps import Services, require_detection
from lama_serve.gateway.errors import BadInput, input_error
from lama_serve.gateway.inpaint import imaging
from lama_serve.gateway.inpaint.imaging import DecodedImage, ImageLimits

MaskSource = Literal["upload", "detected", "full"]
OPAQUE = 255


@dataclass(frozen=True)
class MaskOptions:
    """The request's mask conveniences (form fields)."""

    rectangles: str | None = None  # JSON list of [x, y, w, h] or {x, y, width, height}
    grow: int | None = None  # pixels of dilation, 0..MAX_GROW_PIXELS; None: grow_for's default


@dataclass(frozen=True)
class MaskChoice:
    image: DecodedImage  # what is inpainted: restored when a mark was un-blended
    gray: np.ndarray  # (H, W) uint8 mask: 255 = inpaint, gray = blend (see inpaint.mask.MaskField)
    source: MaskSource
    regions: int | None = None  # detected regions removed; None when the client chose the mask


def client_mask(
    decoded: DecodedImage, mask_bytes: bytes | None, options: MaskOptions, limits: ImageLimits
) -> MaskChoice | None:
    """The mask the client supplied in any of its forms, or None. Transparency used as the
    mask is dropped from the output: that area is filled now."""
    height, width = decoded.rgb.shape[:2]
    if mask_bytes is not None and options.rectangles is not None:
        raise DetectionInputError("send either `mask` or `rectangles`, not both")
    if mask_bytes is not None:
        return MaskChoice(decoded, imaging.decode_mask(mask_bytes, limits, (height, width)), "upload")
    if options.rectangles is not None:
        rects = parse_rectangles(options.rectangles, width, height)
        return MaskChoice(decoded, rectangles_mask(rects, height, width), "upload")
    if decoded.alpha is not None and (decoded.alpha < OPAQUE).any():
        gray = mask_from_alpha(np.dstack([decoded.rgb, decoded.alpha]))
        return MaskChoice(replace(decoded, alpha=None), gray, "upload")
    return None


def detected_choice(decoded: DecodedImage, result: DetectionResult) -> MaskChoice:
    image = decoded if result.restored is None else replace(decoded, rgb=result.restored)
    return MaskChoice(image, result.mask, "detected", len(removed_regions(result, decoded.rgb)))


async def choose_mask(
    services: Services,
    decoded: DecodedImage,
    mask_bytes: bytes | None,
    options: MaskOptions,
    detected: DetectionResult | None = None,
) -> MaskChoice:
    """The request's mask; `detected` is a result found beforehand (batch `detect=shared`)."""
    try:
        choice = await to_thread.run_sync(client_mask, decoded, mask_bytes, options, services.limits)
        if choice is None:
            choice = await _missing_mask(services, decoded, detected)
        grow = grow_for(choice.source, options.grow, services.settings.detected_mask_grow)
        if grow:
            choice = replace(choice, gray=await to_thread.run_sync(grow_mask, choice.gray, grow))
    except DetectionInputError as error:
        raise input_error(error) from error
    return choice


def grow_for(source: MaskSource, requested: int | None, detected_default: int) -> int:
    """Pixels to dilate a mask of `source` by: the request's `grow_mask` when sent; else the
    detectors' tight mask gets `detected_default` and a client's mask none. The whole image
    (MISSING_MASK=full) is never grown."""
    if source == "full":
        return 0
    if requested is not None:
        return requested
    return detected_default if source == "detected" else 0


async def _missing_mask(services: Services, decoded: DecodedImage, detected: DetectionResult | None) -> MaskChoice:
    settings = services.settings
    if settings.missing_mask == "reject":
        raise BadInput(
            "A mask is required: send `mask` (white = remove, black = keep) or "
            "`rectangles`; this server has MISSING_MASK=reject (no automatic detection)."
        )
    if settings.missing_mask == "full":
        return MaskChoice(decoded, np.full(decoded.rgb.shape[:2], 255, np.uint8), "full")
    if detected is None:
        with services.metrics.stage("detect"):
            detected = await require_detection(services).detect(decoded.rgb)
    return detected_choice(decoded, detected)
