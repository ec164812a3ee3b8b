"""`/api/v1/jobs`: look up, fetch the result of, cancel and list the caller's async jobs.

Jobs are made by the processing routes (`routes/_async.py`); a key sees only its own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from lama_serve.gateway.deps import ApiKeyDep
from lama_serve.gateway.errors import error_responses
from lama_serve.gateway.routes._async import JobsDep, job_response, result_response
from lama_serve.gateway.routes._job_object import JobObject, JobPage
from lama_serve.jobs.model import JOBS_PATH

router = APIRouter(prefix=JOBS_PATH, tags=["Jobs"])
MAX_PAGE = 100
_JOB = {200: {"model": JobObject, "description": "The job object"}}


@router.get("", response_model=JobPage, responses=error_responses(400, 401, 503), operation_id="listJobs")
async def list_jobs(
    jobs: JobsDep,
    caller: ApiKeyDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> dict:
    """The caller's jobs, newest first; pass `next_cursor` back as `cursor` for the next page."""
    page, following = await jobs.store.list(caller, limit, cursor)
    return {"jobs": [job.public() for job in page], "next_cursor": following}


@router.get("/{job_id}", responses={**_JOB, **error_responses(401, 404, 503)}, operation_id="getJob")
async def get_job(job_id: str, jobs: JobsDep, caller: ApiKeyDep) -> JSONResponse:
    return job_response(await jobs.get(caller, job_id))


@router.get(
    "/{job_id}/result",
    response_class=Response,
    operation_id="getJobResult",
    responses={
        200: {
            "description": "The image (or zip) with the sync route's headers",
            "content": {"application/octet-stream": {}},
        },
        **error_responses(401, 404, 409, 410, 503),
    },
)
async def get_result(job_id: str, jobs: JobsDep, caller: ApiKeyDep) -> Response:
    """The image (or zip) with its media type; 409 until the job succeeded, 410 once expired."""
    return await result_response(jobs, caller, job_id)


@router.post("/{job_id}/cancel", responses={**_JOB, **error_responses(401, 404, 503)}, operation_id="cancelJob")
async def cancel_job(job_id: str, jobs: JobsDep, caller: ApiKeyDep) -> JSONResponse:
    """Cancel a queued job, or try to stop a running one; a finished job is returned as is."""
    return job_response(await jobs.cancel(caller, job_id))
