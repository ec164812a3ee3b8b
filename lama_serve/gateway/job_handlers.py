"""One handler per processing route, run live by the route or later by a job worker.

A processing route validates its request and hands the uploads and parameters to its handler
(`@handles(kind)`). Without `Prefer: respond-async` the route awaits the handler itself; with
it the uploads are stored as job inputs and `job_processor` rebuilds them and awaits the SAME
handler, so a job's result is byte-identical to the synchronous answer.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import UploadFile
from fastapi.responses import Response

from lama_serve.gateway.deps import Services
from lama_serve.gateway.errors import ApiError
from lama_serve.gateway.processing import read_upload
from lama_serve.jobs.errors import ProcessingFailed
from lama_serve.jobs.model import Job, JobResult, Kind, Processor

Uploads = dict[str, list[UploadFile]]
"""Form field -> its files in request order (one for `image`, several in a batch)."""

# Response headers that belong to the HTTP exchange, not to the result.
_TRANSPORT_HEADERS = frozenset({"content-length", "content-type"})


@dataclass(frozen=True)
class Call:
    """A validated processing request: who asked, the files and the route's parameters
    (JSON-serializable, since a job stores them)."""

    services: Services
    key_id: str
    uploads: Uploads
    params: dict[str, Any]


Handler = Callable[[Call], Awaitable[Response]]
HANDLERS: dict[str, Handler] = {}


def handles(kind: Kind) -> Callable[[Handler], Handler]:
    """Register the function that runs `kind` requests, live or as jobs."""

    def register(handler: Handler) -> Handler:
        if kind in HANDLERS:
            raise RuntimeError(f"two handlers for job kind {kind!r}")
        HANDLERS[kind] = handler
        return handler

    return register


async def read_inputs(uploads: Uploads, limit: int) -> tuple[dict[str, bytes], dict[str, str | None]]:
    """Job inputs `<field>.<index>` and their client file names; 413 for a file over `limit`."""
    inputs: dict[str, bytes] = {}
    filenames: dict[str, str | None] = {}
    for field_name, files in uploads.items():
        for index, upload in enumerate(files):
            name = f"{field_name}.{index}"
            inputs[name] = await read_upload(upload, limit, field_name.capitalize())
            filenames[name] = upload.filename
    return inputs, filenames


def uploads_from(inputs: dict[str, bytes], filenames: dict[str, str | None]) -> Uploads:
    """The inverse of `read_inputs`: in-memory UploadFiles in their original order (the
    order `filenames` was written in, which its JSON round trip keeps)."""
    uploads: Uploads = {}
    for name, filename in filenames.items():
        data = inputs[name]
        uploads.setdefault(name.rsplit(".", 1)[0], []).append(
            UploadFile(io.BytesIO(data), size=len(data), filename=filename)
        )
    return uploads


def _retry_after(error: ApiError) -> float | None:
    """Seconds after which a job that met `error` may run again: a 503 (model unavailable for
    a moment) is worth waiting for; every other error is the request's answer."""
    if error.status_code != HTTPStatus.SERVICE_UNAVAILABLE:
        return None
    return float((error.headers or {}).get("Retry-After", 1))


def job_params(params: dict[str, Any], filenames: dict[str, str | None]) -> dict[str, Any]:
    """What a job stores besides its input bytes."""
    return {"args": params, "filenames": filenames}


def job_processor(services: Services) -> Processor:
    """The jobs package's processor: the registered handler of the job's kind, its response
    kept as the job's result and an `ApiError` kept as the job's error."""

    async def process(job: Job, inputs: dict[str, bytes], params: dict[str, Any]) -> JobResult:
        call = Call(services, job.owner, uploads_from(inputs, params["filenames"]), params["args"])
        try:
            response = await HANDLERS[job.kind](call)
        except ApiError as error:
            raise ProcessingFailed(str(error.detail), error.status_code, _retry_after(error)) from error
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _TRANSPORT_HEADERS}
        return JobResult(bytes(response.body), response.media_type or "application/octet-stream", headers)

    return process
