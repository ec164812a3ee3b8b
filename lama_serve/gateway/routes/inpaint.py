"""`POST /api/v1/remove-watermark`: one image (and its mask, or none: detected) in, the
inpainted image out.

The work itself is `gateway.processing`; this module is the HTTP contract: parameters,
headers and the documented responses, and `run_single`, the handler a job runs too.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from lama_serve.gateway import processing
from lama_serve.gateway.deps import ServicesDep, choose_model_version, require_triton
from lama_serve.gateway.detection.masking import MaskOptions
from lama_serve.gateway.inpaint.imaging import MEDIA_TYPES
from lama_serve.gateway.job_handlers import Call, handles
from lama_serve.gateway.routes._async import ASYNC_RESPONSES, JobRequestDep
from lama_serve.gateway.routes._common import (
    RESPONSES,
    AcceptHeader,
    FormatQuery,
    GrowMaskForm,
    HdStrategyForm,
    HdStrategyQuery,
    RectanglesForm,
    choose_format,
    recorded_usage,
    result_headers,
)

router = APIRouter(prefix="/api/v1", tags=["Processing"])


@handles("single")
async def run_single(call: Call) -> Response:
    """One image through the model; the answer of the route, now or as a job."""
    services, params = call.services, call.params
    started = time.perf_counter()
    (image,), masks = call.uploads["image"], call.uploads.get("mask", [])
    with recorded_usage(services, call.key_id):
        result = await processing.inpaint(
            services,
            require_triton(services),
            choose_model_version(services),
            image,
            masks[0] if masks else None,
            params["format"],
            params["hd_strategy"],
            MaskOptions(params.get("rectangles"), params.get("grow_mask")),
        )
    headers = {
        "X-Processing-Time": f"{time.perf_counter() - started:.3f}",
        "X-Image-Size": result.size,
        "X-HD-Strategy": result.strategy,
        "X-Inpaint-Windows": str(result.windows),
        **result_headers(result.mask_source, result.regions),
    }
    if result.model_version is not None:
        headers["X-Model-Version"] = result.model_version
    return Response(result.encoded, media_type=MEDIA_TYPES[params["format"]], headers=headers)


@router.post(
    "/remove-watermark",
    response_class=Response,
    responses={**RESPONSES, **ASYNC_RESPONSES},
    operation_id="removeWatermark",
)
async def remove_watermark(
    services: ServicesDep,
    job: JobRequestDep,
    image: Annotated[UploadFile, File(description="Image to process: JPEG, PNG or WebP.")],
    mask: Annotated[
        UploadFile | None,
        File(description="Mask, any size (resized NEAREST): white = remove, black = keep, gray = blend."),
    ] = None,
    hd_strategy: HdStrategyForm = None,
    hd_strategy_query: HdStrategyQuery = None,
    output_format: FormatQuery = None,
    accept: AcceptHeader = None,
    grow_mask: GrowMaskForm = None,
    rectangles: RectanglesForm = None,
) -> Response:
    """Remove a watermark or object: the masked area is filled by LaMa, the rest is kept
    bit-identical in PNG output. Without `mask`, `rectangles` or transparency the watermark
    is detected (MISSING_MASK=detect, the default); when none is found the image comes back
    unchanged with `X-Watermark-Regions: 0`. Known marks with a see-through template are
    un-blended exactly rather than inpainted. `Prefer: respond-async` (or a `webhook`)
    makes it a job."""
    fmt = choose_format(output_format, accept, services.settings.output_format)
    uploads = {"image": [image], "mask": [mask] if mask is not None else []}
    params = {
        "format": fmt,
        "hd_strategy": hd_strategy or hd_strategy_query,
        "grow_mask": grow_mask,
        "rectangles": rectangles,
    }
    return await job.respond("single", uploads, params)
