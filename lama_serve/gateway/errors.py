"""Every error the gateway returns: typed exceptions, one status table, one JSON shape.

`ApiError` subclasses Starlette's HTTPException so that errors raised while the body is
still streaming (413) pass through FastAPI's body parsing unchanged instead of becoming
a generic 400.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from lama_serve.detect.types import DetectionInputError
from lama_serve.gateway.headers import SECURITY_HEADERS
from lama_serve.jobs.errors import (
    IdempotencyInFlight,
    IdempotencyMismatch,
    JobError,
    JobNotDone,
    JobNotFound,
    ResultExpired,
    TooManyJobs,
    WebhookRefused,
)
from lama_serve.triton.errors import TritonError, TritonOverloaded, TritonTimeout, TritonUnavailable

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """The v1 error shape every non-2xx response carries."""

    error: str = Field(description="HTTP reason phrase", examples=["Bad Request"])
    detail: str = Field(description="What went wrong and how to fix it")
    status_code: int = Field(description="HTTP status code", examples=[400])


class ApiError(StarletteHTTPException):
    """Base of the gateway's errors; the status comes from `STATUS_BY_ERROR`."""

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status_for(type(self)), detail=detail, headers=headers)


class BadInput(ApiError):
    """The request is malformed: undecodable image, missing mask, bad parameter."""


class Unauthorized(ApiError):
    """Missing or unknown API key."""


class PayloadTooLarge(ApiError):
    """Body or uploaded file over the byte limit."""


class RequestTimeout(ApiError):
    """The body stopped arriving (BODY_READ_TIMEOUT_S)."""


class RateLimited(ApiError):
    """The key's token bucket is empty."""


class NotFound(ApiError):
    """No such resource for this key (an async job, its result)."""


class Conflict(ApiError):
    """The resource is not in a state that allows it: a job not done, an idempotent request running."""


class Gone(ApiError):
    """The resource existed and was deleted (an expired job result)."""


class Unprocessable(ApiError):
    """A well-formed request that contradicts an earlier one (Idempotency-Key reused)."""


class UpstreamFailed(ApiError):
    """Triton answered with an error that is neither the client's fault nor overload."""


class ModelUnavailable(ApiError):
    """Triton unreachable, not ready or overloaded; the client should retry later."""


class InferenceTimeout(ApiError):
    """Triton did not answer within the inference deadline."""


class TooMuchWork(ApiError):
    """The request's estimated model time exceeds INFERENCE_MAX_ESTIMATED_S."""


STATUS_BY_ERROR: dict[type[ApiError], HTTPStatus] = {
    BadInput: HTTPStatus.BAD_REQUEST,
    Unauthorized: HTTPStatus.UNAUTHORIZED,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    RateLimited: HTTPStatus.TOO_MANY_REQUESTS,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    Gone: HTTPStatus.GONE,
    Unprocessable: HTTPStatus.UNPROCESSABLE_ENTITY,
    RequestTimeout: HTTPStatus.REQUEST_TIMEOUT,
    UpstreamFailed: HTTPStatus.BAD_GATEWAY,
    ModelUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    InferenceTimeout: HTTPStatus.GATEWAY_TIMEOUT,
    TooMuchWork: HTTPStatus.UNPROCESSABLE_ENTITY,
}


# Triton's domain errors as HTTP: what is retryable says so with Retry-After.
_RETRYABLE = (TritonUnavailable, TritonOverloaded)


def api_error(error: TritonError, retry_after_s: int) -> ApiError:
    """The HTTP error for a failed Triton call (the one place this mapping lives)."""
    if isinstance(error, TritonTimeout):
        return InferenceTimeout(str(error))
    if isinstance(error, _RETRYABLE):
        return unavailable("the inference server is busy or the model is not loaded", retry_after_s)
    return UpstreamFailed(f"The inference server failed: {error}. The operator should check Triton's log.")


def input_error(error: DetectionInputError) -> BadInput:
    """A mask convenience the client got wrong (rectangles, grow_mask, alpha): its 400."""
    return BadInput(f"Invalid mask input: {error}")


# The jobs package's domain errors as HTTP.
_JOB_ERRORS: dict[type[JobError], type[ApiError]] = {
    JobNotFound: NotFound,
    JobNotDone: Conflict,
    ResultExpired: Gone,
    TooManyJobs: RateLimited,
    IdempotencyMismatch: Unprocessable,
    IdempotencyInFlight: Conflict,
    WebhookRefused: BadInput,
}


def job_api_error(error: JobError) -> ApiError:
    """The HTTP error for a jobs domain error (an unmapped one is our bug: 500 upstream)."""
    return _JOB_ERRORS[type(error)](error.detail)


def unavailable(why: str, retry_after_s: int) -> ModelUnavailable:
    return ModelUnavailable(
        f"Model unavailable: {why}. Retry after {retry_after_s} s; if it persists the operator should check Triton.",
        headers={"Retry-After": str(retry_after_s)},
    )


def status_for(error_type: type[ApiError]) -> HTTPStatus:
    return STATUS_BY_ERROR[error_type]


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=HTTPStatus(status).phrase, detail=detail, status_code=status)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


# A file sent as a text form field (curl -F "image=<photo.jpg", requests' data= instead of
# files=): Starlette refuses such a field over 1 MiB, FastAPI a smaller one as not a file.
_FILE_PART_HINT = (
    "send images as file parts with a filename: curl -F image=@photo.jpg, "
    "or with Python requests files={'image': open('photo.jpg', 'rb')}"
)
_TEXT_FIELD_TOO_LARGE = "Part exceeded maximum size"  # Starlette's multipart parser
_NOT_A_FILE = "Expected UploadFile"  # FastAPI's validation of an UploadFile parameter


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    """ApiError and Starlette's own 400/404/405 alike."""
    if not isinstance(exc, StarletteHTTPException):
        raise TypeError(f"unexpected exception {type(exc).__name__}")
    detail = str(exc.detail)
    if exc.status_code == HTTPStatus.BAD_REQUEST and detail.startswith(_TEXT_FIELD_TOO_LARGE):
        detail = (
            f"{detail} A text form field holds at most 1 MiB: {_FILE_PART_HINT}; "
            "for many `rectangles`, send a mask image instead."
        )
    return error_response(exc.status_code, detail, exc.headers)


async def _job_error(request: Request, exc: Exception) -> JSONResponse:
    """The jobs package's domain errors, through the one table."""
    if not isinstance(exc, JobError):
        raise TypeError(f"unexpected exception {type(exc).__name__}")
    return await _http_error(request, job_api_error(exc))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 becomes the v1 400, naming the offending fields."""
    if not isinstance(exc, RequestValidationError):
        raise TypeError(f"unexpected exception {type(exc).__name__}")
    problems = "; ".join(_problem(err) for err in exc.errors())
    return error_response(HTTPStatus.BAD_REQUEST, f"Invalid request: {problems}")


def _problem(err: dict) -> str:
    """One offending field, with how to send it when a file came as a text field."""
    where, why = ".".join(str(part) for part in err.get("loc", ())), str(err.get("msg", "invalid"))
    if _NOT_A_FILE in why:
        return f"{where}: a text field where a file part was expected ({_FILE_PART_HINT})"
    return f"{where}: {why}"


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    """Last resort: our bug, never the client's. Logged with its traceback."""
    log.exception("unhandled error", exc_info=exc)
    # Starlette sends this response from outside every middleware: add their headers here.
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "Internal error; the operator can find it in the gateway log.",
        headers=dict(SECURITY_HEADERS),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(JobError, _job_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses=` entries using the error schema."""
    return {status: {"model": ErrorBody, "description": HTTPStatus(status).phrase} for status in statuses}
