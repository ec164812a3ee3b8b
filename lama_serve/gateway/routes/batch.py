"""`POST /api/v1/remove-watermark/batch`: several image/mask pairs in, one zip out.

Pairs are the repeated `image` and `mask` fields, matched by order. Every item runs the
single-image pipeline and all of them go to Triton at once, so their windows share
batches. An item that fails (undecodable, too large, Triton busy) gets its error in
`results.json` and does not fail the others; only a malformed batch as a whole (too many
items, mask count not matching) is an HTTP error.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from http import HTTPStatus
from typing import Annotated, Literal

from anyio import to_thread
from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from lama_serve.detect.types import DetectionResult
from lama_serve.gateway import processing
from lama_serve.gateway.deps import Services, ServicesDep, choose_model_version, require_detection, require_triton
from lama_serve.gateway.detection.masking import MaskOptions
from lama_serve.gateway.errors import ApiError, BadInput, ErrorBody, PayloadTooLarge, error_responses
from lama_serve.gateway.inpaint.budget import Budget, Meter
from lama_serve.gateway.job_handlers import Call, handles
from lama_serve.gateway.processing import Loaded
from lama_serve.gateway.routes._async import ASYNC_RESPONSES, JobRequestDep
from lama_serve.gateway.routes._common import (
    AcceptHeader,
    FormatQuery,
    GrowMaskForm,
    HdStrategyForm,
    HdStrategyQuery,
    choose_format,
    recorded_usage,
)
from lama_serve.gateway.tasks import gather_or_cancel

router = APIRouter(prefix="/api/v1", tags=["Processing"])

RESULTS_FILE = "results.json"
DetectForm = Annotated[
    Literal["shared"] | None,
    Form(
        description="`shared`: items without a mask share one watermark (one photographer's or stock "
        "site's mark), estimated over the whole batch (3 items at least) and located in each; photos "
        "of different sizes are compared from the corner or centre the mark keeps its place from; "
        "default: each item is detected on its own."
    ),
]
Entry = dict[str, object]

RESPONSES = {
    200: {
        "description": f"A zip: `<index>.<format>` per successful item and `{RESULTS_FILE}`, "
        '`{"items": [...]}` with one entry per item in request order: on success '
        "`index, filename, status_code: 200, file, image_size, hd_strategy, windows, "
        "model_version, mask_source, watermark_regions, processing_time`; on failure `index, "
        "filename` and the v1 error fields `error, detail, status_code`.",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "X-Processing-Time": {"description": "Seconds for the whole batch", "schema": {"type": "number"}},
            "X-Batch-Failed": {"description": "Items that failed", "schema": {"type": "integer"}},
            "X-Model-Version": {
                "description": "Triton model version that served the items (absent if none did)",
                "schema": {"type": "string"},
            },
        },
    },
    **error_responses(400, 401, 413, 429, 503),
}


def _zip(entries: list[Entry], images: list[bytes | None]) -> bytes:
    """Images stored as they are (already compressed), the item list deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for entry, image in zip(entries, images, strict=True):
            if image is not None:
                archive.writestr(str(entry["file"]), image, zipfile.ZIP_STORED)
        archive.writestr(RESULTS_FILE, json.dumps({"items": entries}, indent=2), zipfile.ZIP_DEFLATED)
    return out.getvalue()


async def _load(services: Services, upload: UploadFile, mask: UploadFile | None) -> Loaded | ApiError:
    """An item read and decoded, or its error (it fails alone)."""
    try:
        return await processing.load(services, upload, mask)
    except ApiError as exc:
        return exc


async def _shared(services: Services, loaded: list[Loaded | ApiError]) -> list[DetectionResult | None]:
    """The batch's shared mark in each decoded item (None for failed items)."""
    decoded = [item.decoded.rgb for item in loaded if isinstance(item, Loaded)]
    with services.metrics.stage("detect"):
        found = iter(await require_detection(services).detect_shared(decoded))
    return [next(found) if isinstance(item, Loaded) else None for item in loaded]


@handles("batch")
async def run_batch(call: Call) -> Response:
    """Every item through the single-image pipeline; the route's zip, now or as a job."""
    services, fmt, strategy = call.services, call.params["format"], call.params["hd_strategy"]
    triton, version = require_triton(services), choose_model_version(services)
    options = MaskOptions(grow=call.params.get("grow_mask"))
    meter = Meter(Budget.from_settings(services.settings))  # all items may meet in one Triton call
    started = time.perf_counter()
    images, masks = call.uploads["image"], call.uploads.get("mask", [])
    pairs = list(zip(images, masks or [None] * len(images), strict=True))
    loaded = await gather_or_cancel(_load(services, *pair) for pair in pairs)
    shared = await _shared(services, loaded) if call.params.get("detect") == "shared" else [None] * len(loaded)

    async def item(
        index: int, upload: UploadFile, prepared: Loaded | ApiError, detected: DetectionResult | None
    ) -> tuple[Entry, bytes | None]:
        entry: Entry = {"index": index, "filename": upload.filename}
        item_started = time.perf_counter()
        try:
            with recorded_usage(services, call.key_id):
                if isinstance(prepared, ApiError):
                    raise prepared
                result = await processing.inpaint_loaded(
                    services, triton, version, prepared, fmt, strategy, options, detected, meter=meter
                )
        except ApiError as exc:
            status = HTTPStatus(exc.status_code)
            body = ErrorBody(error=status.phrase, detail=str(exc.detail), status_code=status.value)
            return {**entry, **body.model_dump()}, None
        elapsed = time.perf_counter() - item_started
        return {
            **entry,
            "status_code": HTTPStatus.OK.value,
            "file": f"{index}.{fmt}",
            "image_size": result.size,
            "hd_strategy": result.strategy,
            "windows": result.windows,
            "model_version": result.model_version,
            "mask_source": result.mask_source,
            "watermark_regions": result.regions,
            "processing_time": round(elapsed, 3),
        }, result.encoded

    done = await gather_or_cancel(
        item(index, upload, prepared, detected)
        for index, ((upload, _), prepared, detected) in enumerate(zip(pairs, loaded, shared, strict=True))
    )
    entries, encoded = [entry for entry, _ in done], [data for _, data in done]
    archive = await to_thread.run_sync(_zip, entries, encoded)
    headers = {
        "X-Processing-Time": f"{time.perf_counter() - started:.3f}",
        "X-Batch-Failed": str(sum(data is None for data in encoded)),
    }
    served = {entry.get("model_version") for entry in entries} - {None}
    if len(served) == 1:  # one value per request: several only if Triton's latest changed mid-batch
        headers["X-Model-Version"] = str(served.pop())
    return Response(archive, media_type="application/zip", headers=headers)


@router.post(
    "/remove-watermark/batch",
    response_class=Response,
    responses={**RESPONSES, **ASYNC_RESPONSES},
    operation_id="removeWatermarkBatch",
)
async def remove_watermark_batch(
    services: ServicesDep,
    job: JobRequestDep,
    image: Annotated[list[UploadFile], File(description="Images, repeated field; JPEG, PNG or WebP.")],
    mask: Annotated[
        list[UploadFile] | None,
        File(description="Masks, repeated field, paired with `image` by order (same count)."),
    ] = None,
    hd_strategy: HdStrategyForm = None,
    hd_strategy_query: HdStrategyQuery = None,
    output_format: FormatQuery = None,
    accept: AcceptHeader = None,
    detect: DetectForm = None,
    grow_mask: GrowMaskForm = None,
) -> Response:
    """Inpaint up to BATCH_MAX_ITEMS image/mask pairs in one request. The batch takes one
    rate-limit token; each item counts as one request in `/api/v1/stats`. Items without a
    mask are detected one by one, or, with `detect=shared`, against one watermark estimated
    over the whole batch. `Prefer: respond-async` (or a `webhook`) makes it a job whose
    result is the zip."""
    settings = services.settings
    if len(image) > settings.batch_max_items:
        raise PayloadTooLarge(
            f"Too many items: {len(image)} images, at most {settings.batch_max_items} per batch; split the batch."
        )
    masks = mask or []
    if masks and len(masks) != len(image):
        raise BadInput(f"Got {len(image)} images and {len(masks)} masks; send one mask per image, in order.")
    fmt = choose_format(output_format, accept, settings.output_format)
    params = {"format": fmt, "hd_strategy": hd_strategy or hd_strategy_query, "detect": detect, "grow_mask": grow_mask}
    return await job.respond("batch", {"image": image, "mask": masks}, params)
