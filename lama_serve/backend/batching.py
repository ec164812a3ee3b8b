"""Per-request validation and same-shape batching for the CPU (Python-based) backend.

Triton's dynamic batcher hands the backend a list of requests that may differ in H and W,
which cannot be concatenated. Requests are therefore grouped by spatial shape and each
group runs as ONE model call; a bad request fails alone. Pure numpy, so it is unit-tested
without Triton.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lama_serve.core.contract import IMAGE, MASK, MIN_SIDE, SPATIAL_MULTIPLE, DetectorContract, TensorSpec

# The input tensors of one request, batch axis first: (image, mask) for lama, (image,) for
# a detector. The first one's H and W decide the group.
RequestInputs = tuple[np.ndarray, ...]
# A model call: one output array, or a tuple of them (a box detector's boxes and scores).
Outputs = np.ndarray | tuple[np.ndarray, ...]
RunFn = Callable[..., Outputs]


class RequestError(ValueError):
    """The request itself is invalid; the message tells the client how to fix it."""


def _check_tensor(array: np.ndarray, spec: TensorSpec) -> None:
    if array.dtype != np.dtype(spec.numpy_dtype):
        raise RequestError(f"input '{spec.name}' must be {spec.dtype} ({spec.numpy_dtype}), got {array.dtype}")
    if array.ndim != len(spec.dims) + 1:
        raise RequestError(f"input '{spec.name}' must have shape [N,H,W,{spec.dims[-1]}], got {list(array.shape)}")
    if array.shape[-1] != spec.dims[-1]:
        raise RequestError(
            f"input '{spec.name}' must have {spec.dims[-1]} channel(s) in the last axis, got shape {list(array.shape)}"
        )


def validate(image: np.ndarray, mask: np.ndarray) -> None:
    """Raise RequestError unless (image, mask) obey the contract."""
    _check_tensor(image, IMAGE)
    _check_tensor(mask, MASK)
    if image.shape[:3] != mask.shape[:3]:
        raise RequestError(
            f"'{IMAGE.name}' and '{MASK.name}' must share N, H and W, got {list(image.shape)} and {list(mask.shape)}"
        )
    _check_spatial(image, SPATIAL_MULTIPLE)
    if min(image.shape[1:3]) < MIN_SIDE:
        raise RequestError(
            f"H and W must be at least {MIN_SIDE}, got {image.shape[1]}x{image.shape[2]}; "
            f"pad the image (mirror) to e.g. {max(image.shape[1], MIN_SIDE)}x"
            f"{max(image.shape[2], MIN_SIDE)}"
        )


def detector_check(contract: DetectorContract) -> Callable[[np.ndarray], None]:
    """The input check of a detector that follows `contract` (core.contract)."""

    def check(image: np.ndarray) -> None:
        _check_tensor(image, IMAGE)
        _check_spatial(image, contract.spatial_multiple)

    return check


def _check_spatial(image: np.ndarray, multiple: int) -> None:
    n, height, width = image.shape[:3]
    if n == 0 or height == 0 or width == 0:
        raise RequestError(f"empty input: shape {list(image.shape)}")
    if height % multiple or width % multiple:
        raise RequestError(
            f"H and W must be multiples of {multiple}, got {height}x{width}; pad or "
            f"resize the image to e.g. {_round_up(height, multiple)}x{_round_up(width, multiple)}"
        )


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def infer_batched(
    requests: Sequence[RequestInputs], run: RunFn, check: Callable[..., None] = validate
) -> list[Outputs | Exception]:
    """Run `run(*inputs)` once per same-(H, W) group of requests that pass `check(*inputs)`.

    Returns, per request and in order, its output rows (a tuple of them when `run` returns a
    tuple) or the exception that failed it: RequestError for invalid inputs, or whatever
    `run` raised for its whole group.
    """
    results: dict[int, Outputs | Exception] = {}
    groups: dict[tuple[int, int], list[int]] = {}
    for index, inputs in enumerate(requests):
        try:
            check(*inputs)
        except RequestError as error:
            results[index] = error
            continue
        groups.setdefault(inputs[0].shape[1:3], []).append(index)

    for members in groups.values():
        batched = [np.concatenate(column) for column in zip(*(requests[i] for i in members))]
        try:
            outputs = run(*batched)
        except Exception as error:
            for i in members:
                results[i] = error
            continue
        offsets = np.cumsum([requests[i][0].shape[0] for i in members])[:-1]
        columns = [np.split(column, offsets) for column in (outputs if isinstance(outputs, tuple) else (outputs,))]
        for k, i in enumerate(members):
            rows = tuple(column[k] for column in columns)
            results[i] = rows if isinstance(outputs, tuple) else rows[0]
    return [results[i] for i in range(len(requests))]
