"""Domain errors of the jobs package; each carries the HTTP status the gateway answers with."""
from __future__ import annotations

from http import HTTPStatus


class JobError(Exception):
    """Root of the jobs errors; `status_code` is what the API answers."""

    status_code: int = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class JobNotFound(JobError):
    status_code = HTTPStatus.NOT_FOUND


class JobNotDone(JobError):
    status_code = HTTPStatus.CONFLICT


class ResultExpired(JobError):
    status_code = HTTPStatus.GONE


class TooManyJobs(JobError):
    status_code = HTTPStatus.TOO_MANY_REQUESTS


class IdempotencyMismatch(JobError):
    status_code = HTTPStatus.UNPROCESSABLE_ENTITY


class IdempotencyInFlight(JobError):
    status_code = HTTPStatus.CONFLICT


class WebhookRefused(JobError):
    """A webhook URL that is malformed or points into a refused address range."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY


class ProcessingFailed(JobError):
    """Raised by a processor: the job fails with this status and detail (as the sync route would)."""

    def __init__(self, detail: str, status_code: int) -> None:
        super().__init__(detail)
        self.status_code = status_code
