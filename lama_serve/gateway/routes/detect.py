"""`POST /api/v1/detect`: where the watermark is, as JSON regions or as the mask PNG.

Detect-then-confirm: a client can edit the returned mask and send it back to
`/api/v1/remove-watermark` as `mask`. Same auth, limits and errors as remove-watermark.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from PIL import Image
from pydantic import BaseModel, Field

from lama_serve.detect.types import DetectionResult
from lama_serve.gateway import processing
from lama_serve.gateway.deps import ApiKeyDep, DetectionDep, ServicesDep
from lama_serve.gateway.routes._common import RESPONSES as PROCESSING_RESPONSES
from lama_serve.gateway.routes._common import AcceptHeader, recorded_usage

router = APIRouter(prefix="/api/v1", tags=["Processing"])


class DetectedRegion(BaseModel):
    x: int = Field(description="Left edge, pixels")
    y: int = Field(description="Top edge, pixels")
    width: int
    height: int
    score: float = Field(description="Watermark likeness 0..1; candidates under the keep score "
                         "(e.g. a sign's own text) are listed but not in the mask")
    kind: str = Field(description="Detector: `watermark_text`, `watermark_seg`, `tiled`, `shared` "
                      "or `template:<name>`", examples=["watermark_text"])


class DetectResponse(BaseModel):
    watermark_found: bool = Field(description="Something would be removed (inpainted or un-blended)")
    regions: list[DetectedRegion] = Field(description="Every candidate, best score first")
    coverage: float = Field(ge=0, le=1, description="Fraction of the image's pixels in the mask")


RESPONSES = {
    200: {
        "description": "JSON regions; with `Accept: image/png` or `?format=png` the mask as a "
        "grayscale PNG of the image's size (255 = watermark)",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    },
    **{status: body for status, body in PROCESSING_RESPONSES.items() if status != 200},
}
DetectFormatQuery = Annotated[Literal["json", "png"] | None, Query(
    alias="format", description="`png`: the mask image; default JSON (or what Accept asks for).")]


def _mask_png(mask: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(mask).save(out, format="PNG", compress_level=1)  # type: ignore[arg-type]
    return out.getvalue()


def _body(result: DetectionResult) -> DetectResponse:
    return DetectResponse(watermark_found=result.watermark_found, coverage=round(result.coverage, 6),
                          regions=[DetectedRegion(**region.as_dict()) for region in result.regions])


@router.post("/detect", response_model=DetectResponse, responses=RESPONSES, operation_id="detectWatermark")
async def detect_watermark(
    key_id: ApiKeyDep,
    services: ServicesDep,
    detection: DetectionDep,
    image: Annotated[UploadFile, File(description="Image to examine: JPEG, PNG or WebP.")],
    output_format: DetectFormatQuery = None,
    accept: AcceptHeader = None,
) -> Response | DetectResponse:
    """Find the watermark without removing it: regions with scores, or the mask itself."""
    wants_png = output_format == "png" or (output_format is None and "image/png" in (accept or ""))
    with recorded_usage(services, key_id):
        loaded = await processing.load(services, image, None)
        with services.metrics.stage("detect"):
            result = await detection.detect(loaded.decoded.rgb)
    if wants_png:
        return Response(_mask_png(result.mask), media_type="image/png")
    return _body(result)
