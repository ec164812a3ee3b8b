"""`Prefer: respond-async` / `wait=N` (RFC 7240) and webhooks on the processing routes.

A processing route takes `job: JobRequestDep` and ends with
`return await job.respond(kind, uploads, params)`: without Prefer or webhook that runs the
route's handler now (the synchronous answer, unchanged); with them it stores a job and
answers 202 with Location, Preference-Applied and the job object (or, with `wait=N`, the
job's answer when it finishes in time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Header
from fastapi.responses import JSONResponse, Response

from lama_serve.gateway.deps import ApiKeyDep, Services, ServicesDep
from lama_serve.gateway.errors import ModelUnavailable, error_response, error_responses
from lama_serve.gateway.job_handlers import HANDLERS, Call, Uploads, job_params, read_inputs
from lama_serve.gateway.routes._job_object import JobObject
from lama_serve.jobs.model import DEFAULT_EVENTS, JOBS_PATH, Job, Kind, WebhookEvent
from lama_serve.jobs.service import JobService

RESPOND_ASYNC = "respond-async"


def require_jobs(services: ServicesDep) -> JobService:
    if services.jobs is None:
        retry = services.settings.retry_after_s
        raise ModelUnavailable(
            f"Jobs are unavailable while the gateway starts or stops; retry after {retry} s.",
            headers={"Retry-After": str(retry)},
        )
    return services.jobs


JobsDep = Annotated[JobService, Depends(require_jobs)]


def parse_prefer(header: str | None) -> tuple[bool, float | None]:
    """(respond-async asked, wait=N seconds or None) from a Prefer header (RFC 7240):
    comma-separated preferences, each `token[=value]` with optional `;params`; unknown
    or malformed preferences are ignored, as the RFC asks."""
    respond_async, wait = False, None
    for preference in (header or "").split(","):
        name, _, value = preference.split(";", 1)[0].strip().partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == RESPOND_ASYNC:
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


async def respond_with_job(jobs: JobService, job: Job, wait_s: float | None, applied: str = RESPOND_ASYNC) -> Response:
    """For a submitted job: wait up to `wait_s` for it and answer like the sync route (its
    result, or its error), else 202 with Location, Preference-Applied and the job object."""
    if wait_s:
        job = await jobs.wait(job.owner, job.id, wait_s)
        if job.error is not None:
            return error_response(job.error["status_code"], job.error["detail"])
        if job.status.done and job.media_type is not None:
            return await result_response(jobs, job.owner, job.id)
    headers = {"Location": f"{JOBS_PATH}/{job.id}"}
    if applied:
        headers["Preference-Applied"] = applied
    return job_response(job, 202, headers)


def _events(values: list[str] | None) -> tuple[WebhookEvent, ...]:
    """`webhook_events` as repeated fields or comma-separated; checked by JobService.submit."""
    events = [event.strip() for value in values or [] for event in value.split(",") if event.strip()]
    return tuple(events) or DEFAULT_EVENTS  # type: ignore[return-value]


@dataclass(frozen=True)
class JobRequest:
    """How the caller wants a processing request answered."""

    services: Services
    key_id: str
    respond_async: bool
    wait_s: float | None
    webhook: str | None
    webhook_events: tuple[WebhookEvent, ...]

    @property
    def deferred(self) -> bool:
        """A job is made for Prefer respond-async or wait, or for a webhook (which needs one)."""
        return self.respond_async or self.wait_s is not None or self.webhook is not None

    async def respond(self, kind: Kind, uploads: Uploads, params: dict[str, Any]) -> Response:
        """The route's answer: its handler's, now or as a job (see the module docstring)."""
        if not self.deferred:
            return await HANDLERS[kind](Call(self.services, self.key_id, uploads, params))
        jobs = require_jobs(self.services)
        inputs, filenames = await read_inputs(uploads, self.services.settings.max_upload_bytes)
        job = await jobs.submit(
            self.key_id, kind, inputs, job_params(params, filenames), self.webhook or None, self.webhook_events
        )
        wait_s = None if self.wait_s is None else min(self.wait_s, self.services.settings.prefer_wait_max_s)
        applied = [RESPOND_ASYNC] if self.respond_async else []
        if wait_s is not None:
            applied.append(f"wait={wait_s:g}")
        return await respond_with_job(jobs, job, wait_s, ", ".join(applied))


def _job_request(
    services: ServicesDep,
    key_id: ApiKeyDep,
    prefer: Annotated[
        str | None,
        Header(
            description="`respond-async`: answer 202 with the job at once; `wait=N`: wait up to N "
            "seconds (at most PREFER_WAIT_MAX_S) for the result, else 202. Absent: synchronous."
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Replay the first answer to this key (24 h, per API key) instead of running "
            "again; 422 if reused with another request, 409 while the first still runs.",
        ),
    ] = None,
    webhook: Annotated[
        str | None,
        Form(
            description="URL to POST signed Standard Webhooks events of the job to; makes the "
            "request asynchronous. Private addresses are refused unless WEBHOOK_ALLOW_PRIVATE."
        ),
    ] = None,
    webhook_events: Annotated[
        list[str] | None,
        Form(description="Events to deliver: `start`, `completed` (default), repeated or comma-separated."),
    ] = None,
) -> JobRequest:
    # `idempotency_key` is handled by the Idempotency middleware; declared here for the docs.
    del idempotency_key
    respond_async, wait_s = parse_prefer(prefer)
    return JobRequest(services, key_id, respond_async, wait_s, webhook, _events(webhook_events))


JobRequestDep = Annotated[JobRequest, Depends(_job_request)]

ASYNC_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": JobObject,
        "description": "Accepted as a job (`Prefer: respond-async`, a `wait` that ran out, or a "
        "`webhook`): poll `Location`, fetch `urls.result` when `status` is `succeeded`.",
        "headers": {
            "Location": {"description": "The job: `/api/v1/jobs/{id}`", "schema": {"type": "string"}},
            "Preference-Applied": {"description": "The Prefer preferences honoured", "schema": {"type": "string"}},
        },
    },
    # Idempotency-Key: a request still running with it, or the key reused with another request.
    **error_responses(409, 422),
}
ASYNC_RESPONSES[409]["description"] = "A request with this Idempotency-Key is still running"
ASYNC_RESPONSES[422]["description"] = (
    "This Idempotency-Key was used with another request, or the work "
    "exceeds the limits (use hd_strategy=crop or a smaller image)"
)
