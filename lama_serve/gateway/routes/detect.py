"""`POST /api/v1/detect`: where the watermark is, as JSON regions or as the mask PNG.

Detect-then-confirm: a client can edit the returned mask and send it back to
`/api/v1/remove-watermark` as `mask`. Same auth, limits and errors as remove-watermark.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from PIL import Image
from pydantic import BaseModel, Field

from lama_serve.detect.types import DetectionResult
from lama_serve.gateway import processing
from lama_serve.gateway.deps import require_detection
from lama_serve.gateway.job_handlers import Call, handles
from lama_serve.gateway.routes._async import ASYNC_RESPONSES, JobRequestDep
from lama_serve.gateway.routes._common import RESPONSES as PROCESSING_RESPONSES
from lama_serve.gateway.routes._common import AcceptHeader, recorded_usage

router = APIRouter(prefix="/api/v1", tags=["Processing"])


class DetectedRegion(BaseModel):
    x: int = Field(description="Left edge, pixels")
    y: int = Field(description="Top edge, pixels")
    width: int
    height: int
    score: float = Field(
        description="Watermark likeness 0..1; candidates under the keep score "
        "(e.g. a sign's own text) are listed but not in the mask"
    )
    kind: str = Field(
        description="Detector: `watermark_text`, `watermark_seg`, `tiled`, `shared` or `template:<name>`",
        examples=["watermark_text"],
    )


class DetectResponse(BaseModel):
    watermark_found: bool = Field(description="Something would be removed (inpainted or un-blended)")
    regions: list[DetectedRegion] = Field(
        description="Every area found, best score first: pieces of one mark (glyph groups, lines) within 3/4 of a "
        "line height of each other are one region; candidates left out of the mask are listed apart"
    )
    coverage: float = Field(ge=0, le=1, description="Fraction of the image's pixels in the mask")


RESPONSES = {
    200: {
        "description": "JSON regions; with `Accept: image/png` or `?format=png` the mask as a "
        "grayscale PNG of the image's size (255 = watermark)",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    },
    **{status: body for status, body in PROCESSING_RESPONSES.items() if status != 200},
}
DetectFormatQuery = Annotated[
    Literal["json", "png"] | None,
    Query(alias="format", description="`png`: the mask image; default JSON (or what Accept asks for)."),
]


def _mask_png(mask: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(mask).save(out, format="PNG", compress_level=1)  # type: ignore[arg-type]
    return out.getvalue()


def _body(result: DetectionResult) -> DetectResponse:
    return DetectResponse(
        watermark_found=result.watermark_found,
        coverage=round(result.coverage, 6),
        regions=[DetectedRegion(**region.as_dict()) for region in result.regions],
    )


@handles("detect")
async def run_detect(call: Call) -> Response:
    """Detection of one image; the answer of the route, now or as a job."""
    services = call.services
    with recorded_usage(services, call.key_id):
        loaded = await processing.load(services, call.uploads["image"][0], None)
        with services.metrics.stage("detect"):
            result = await require_detection(services).detect(loaded.decoded.rgb)
    if call.params["format"] == "png":
        return Response(_mask_png(result.mask), media_type="image/png")
    return JSONResponse(_body(result).model_dump())


@router.post(
    "/detect", response_model=DetectResponse, responses={**RESPONSES, **ASYNC_RESPONSES}, operation_id="detectWatermark"
)
async def detect_watermark(
    job: JobRequestDep,
    image: Annotated[UploadFile, File(description="Image to examine: JPEG, PNG or WebP.")],
    output_format: DetectFormatQuery = None,
    accept: AcceptHeader = None,
) -> Response:
    """Find the watermark without removing it: regions with scores, or the mask itself.
    `Prefer: respond-async` (or a `webhook`) makes it a job."""
    wants_png = output_format == "png" or (output_format is None and "image/png" in (accept or ""))
    return await job.respond("detect", {"image": [image]}, {"format": "png" if wants_png else "json"})
