"""Work for nobody: requests whose client gave up are answered CANCELLED, never computed.

Triton marks a request cancelled when its client cancels it (gRPC/async client cancel,
HTTP client gone); the Python backend sees `request.is_cancelled()`. Pure, so it is tested
with plain values; the stub passes `lambda r: r.is_cancelled()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
CANCELLED_MESSAGE = "request cancelled by the client before inference; nothing was computed"


def split_cancelled(requests: Sequence[T], is_cancelled: Callable[[T], bool]) -> tuple[list[int], list[int]]:
    """(indices to run, indices cancelled), both in request order."""
    live: list[int] = []
    cancelled: list[int] = []
    for index, request in enumerate(requests):
        (cancelled if is_cancelled(request) else live).append(index)
    return live, cancelled
