"""What can go wrong when talking to Triton, as domain errors, and the one classifier.

tritonclient reports every failure as `InferenceServerException` (status + message) or as a
transport error; `classify` turns both into one of the classes below, so callers (the
gateway maps them to HTTP, rollout and `up` to exit codes) never match message text.
"""

from __future__ import annotations

import aiohttp
from tritonclient.utils import InferenceServerException

from lama_serve.core.errors import LamaServeError

# Triton statuses meaning "busy right now": queue full, rate limited.
_OVERLOAD_STATUSES = {"429", "503", "StatusCode.UNAVAILABLE"}  # HTTP, gRPC (e.g. queue full)
# Messages of a model that is not there to serve: not loaded, loading, its stub died
# ("not healthy": a crashed or hung Python-backend stub, HTTP 500).
_UNAVAILABLE_HINTS = ("unknown model", "not found", "not ready", "unavailable", "is not loaded", "not healthy")


class TritonError(LamaServeError):
    """Base: a call to Triton did not give a result."""


class TritonUnavailable(TritonError):
    """Triton is unreachable, or the model is not loaded or its backend is down: retry later."""


class TritonOverloaded(TritonError):
    """Triton's queue is full: retry later."""


class TritonTimeout(TritonError):
    """No answer within the caller's deadline."""


class TritonForbidden(TritonError):
    """A restricted API (model repository) refused the call: wrong or missing admin key."""


class TritonFailed(TritonError):
    """Triton answered with an error that is neither overload nor absence: see its log."""


def classify(error: BaseException, *, url: str, what: str) -> TritonError:
    """The domain error for a failed call `what` (e.g. "run lama v1") to Triton at `url`."""
    if isinstance(error, TritonError):
        return error
    if isinstance(error, TimeoutError):
        return TritonTimeout(f"Triton at {url} did not {what} in time")
    if isinstance(error, (aiohttp.ClientError, ConnectionError, OSError)):
        return TritonUnavailable(
            f"cannot reach Triton at {url} to {what} ({error}); start it (`lama-serve up`) or set TRITON_URL"
        )
    if not isinstance(error, InferenceServerException):
        return TritonFailed(f"Triton at {url} failed to {what}: {error}")
    status, message = str(error.status() or ""), error.message() or ""
    if status == "403" or "restricted" in message:
        return TritonForbidden(
            f"Triton at {url} refused to {what}: its model-repository API is restricted. Set "
            "TRITON_ADMIN_KEY (and TRITON_ADMIN_HEADER if not the default) to the key Triton "
            "was started with"
        )
    if status == "StatusCode.UNAVAILABLE" and "queue" not in message.lower():  # gRPC: no connection
        return TritonUnavailable(
            f"cannot reach Triton at {url} to {what} ({message}); start it (`lama-serve up`) or set TRITON_GRPC_URL"
        )
    if status in _OVERLOAD_STATUSES:
        return TritonOverloaded(f"Triton at {url} is busy and could not {what}: {message}")
    if any(hint in message.lower() for hint in _UNAVAILABLE_HINTS):
        return TritonUnavailable(f"Triton at {url} cannot {what} right now: {message}")
    return TritonFailed(f"Triton at {url} failed to {what}: {message}")
