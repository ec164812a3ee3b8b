"""`/api/v1/jobs`: look up, fetch the result of, cancel and list the caller's async jobs.

Also the two helpers the processing routes use for `Prefer: respond-async` / `wait=N`
(RFC 7240): `parse_prefer` and `respond_with_job`.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from lama_serve.gateway.deps import ApiKeyDep, ServicesDep
from lama_serve.gateway.errors import ModelUnavailable, error_responses
from lama_serve.jobs.model import JOBS_PATH, Job
from lama_serve.jobs.service import JobService

router = APIRouter(prefix=JOBS_PATH, tags=["jobs"])
MAX_PAGE = 100


def _jobs(services: ServicesDep) -> JobService:
    if services.jobs is None:
        retry = services.settings.retry_after_s
        raise ModelUnavailable(f"Jobs are unavailable while the gateway starts or stops; retry after {retry} s.",
                               headers={"Retry-After": str(retry)})
    return services.jobs


JobsDep = Annotated[JobService, Depends(_jobs)]


def parse_prefer(header: str | None) -> tuple[bool, float | None]:
    """(respond-async asked, wait=N seconds or None) from a Prefer header (RFC 7240):
    comma-separated preferences, each `token[=value]` with optional `;params`; unknown
    or malformed preferences are ignored, as the RFC asks."""
    respond_async, wait = False, None
    for preference in (header or "").split(","):
        name, _, value = preference.split(";", 1)[0].strip().partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "respond-async":
            respond_async = True
        elif name == "wait":
            try:
                wait = max(0.0, float(value))
            except ValueError:
                continue
    return respond_async, wait


def job_response(job: Job, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(job.public(), status_code=status_code, headers=headers)


async def result_response(jobs: JobService, owner: str, job_id: str) -> Response:
    job, body = await jobs.result(owner, job_id)
    return Response(body, media_type=job.media_type, headers=job.result_headers)


async def respond_with_job(jobs: JobService, job: Job, wait_s: float | None) -> Response:
    """For a submitted job: wait up to `wait_s` for it and answer like the sync route (its
    result, or its error), else 202 with Location, Preference-Applied and the job object."""
    if wait_s:
        job = await jobs.wait(job.owner, job.id, wait_s)
        if job.status.done and job.error is None and job.media_type is not None:
            return await result_response(jobs, job.owner, job.id)
        if job.error is not None:
            return JSONResponse(job.error, status_code=job.error["status_code"])
    headers = {"Location": f"{JOBS_PATH}/{job.id}", "Preference-Applied": "respond-async"}
    return job_response(job, 202, headers)


@router.get("", responses=error_responses(401))
async def list_jobs(jobs: JobsDep, caller: ApiKeyDep,
                    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
                    cursor: Annotated[str | None, Query(max_length=64)] = None) -> dict:
    """The caller's jobs, newest first; pass `next_cursor` back as `cursor` for the next page."""
    page, following = await jobs.store.list(caller, limit, cursor)
    return {"jobs": [job.public() for job in page], "next_cursor": following}


@router.get("/{job_id}", responses=error_responses(401, 404))
async def get_job(job_id: str, jobs: JobsDep, caller: ApiKeyDep) -> JSONResponse:
    return job_response(await jobs.get(caller, job_id))


@router.get("/{job_id}/result", responses=error_responses(401, 404, 409, 410))
async def get_result(job_id: str, jobs: JobsDep, caller: ApiKeyDep) -> Response:
    """The image (or zip) with its media type; 409 until the job succeeded, 410 once expired."""
    return await result_response(jobs, caller, job_id)


@router.post("/{job_id}/cancel", responses=error_responses(401, 404))
async def cancel_job(job_id: str, jobs: JobsDep, caller: ApiKeyDep) -> JSONResponse:
    """Cancel a queued job, or try to stop a running one; a finished job is returned as is."""
    return job_response(await jobs.cancel(caller, job_id))
