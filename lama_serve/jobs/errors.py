"""Domain errors of the jobs package. The gateway maps each to its HTTP status in its one
error table (`gateway.errors.job_api_error`); this package knows nothing of HTTP."""

from __future__ import annotations

from lama_serve.core.errors import LamaServeError


class JobError(LamaServeError):
    """Root of the jobs errors; `detail` says what went wrong and how to fix it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class JobNotFound(JobError):
    """No such job for this key (someone else's job is reported the same way)."""


class JobNotDone(JobError):
    """The job has no result (yet, or ever: it failed or was canceled)."""


class ResultExpired(JobError):
    """The result was deleted after JOB_RESULT_TTL_S."""


class TooManyJobs(JobError):
    """The key has JOBS_MAX_ACTIVE_PER_KEY queued or processing jobs."""


class IdempotencyMismatch(JobError):
    """An Idempotency-Key reused with a different request."""


class IdempotencyInFlight(JobError):
    """The first request with this Idempotency-Key has not answered yet."""


class WebhookRefused(JobError):
    """A webhook URL (or event list) that is malformed or points into a refused address range."""


class ProcessingFailed(JobError):
    """Raised by a processor: the job fails with the status and detail the sync route would answer.
    `retry_after_s`: the failure is transient (the model is reloading, Triton restarts): the
    worker runs the job again after that many seconds instead of failing it."""

    def __init__(self, detail: str, status_code: int, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.status_code, self.retry_after_s = status_code, retry_after_s
