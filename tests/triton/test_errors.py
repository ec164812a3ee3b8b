"""One classifier for every Triton failure: status and transport first, message hints last."""

from __future__ import annotations

import aiohttp
import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from lama_serve.core.contract import IMAGE, MASK
from lama_serve.core.errors import LamaServeError
from lama_serve.triton.client import infer_inputs, inpainting_inputs
from lama_serve.triton.errors import (
    TritonFailed,
    TritonForbidden,
    TritonOverloaded,
    TritonTimeout,
    TritonUnavailable,
    classify,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (InferenceServerException("Exceeds maximum queue size", status="503"), TritonOverloaded),
        (InferenceServerException("too many requests", status="429"), TritonOverloaded),
        (InferenceServerException("Request for unknown model: 'lama' is not found", status="400"), TritonUnavailable),
        (InferenceServerException("Stub process 'lama_0_0' is not healthy.", status="500"), TritonUnavailable),
        (InferenceServerException("This API is restricted", status="403"), TritonForbidden),
        (InferenceServerException("onnxruntime failed", status="500"), TritonFailed),
        # gRPC statuses: a full queue is busy, no connection is unavailable
        (InferenceServerException("Exceeds maximum queue size", status="StatusCode.UNAVAILABLE"), TritonOverloaded),
        (
            InferenceServerException("failed to connect to all addresses", status="StatusCode.UNAVAILABLE"),
            TritonUnavailable,
        ),
        (aiohttp.ClientConnectionError("refused"), TritonUnavailable),
        (ConnectionRefusedError("refused"), TritonUnavailable),
        (TimeoutError(), TritonTimeout),
    ],
)
def test_classify(error: BaseException, expected: type) -> None:
    classified = classify(error, url="127.0.0.1:8000", what="run lama v1")
    assert type(classified) is expected and isinstance(classified, LamaServeError)
    assert "127.0.0.1:8000" in str(classified)


def test_forbidden_names_the_setting_to_fix() -> None:
    error = classify(InferenceServerException("restricted", status="403"), url="t:1", what="load lama")
    assert "TRITON_ADMIN_KEY" in str(error)


def test_request_builder_follows_the_contract() -> None:
    image, mask = np.zeros((2, 16, 24, 3), np.uint8), np.zeros((2, 16, 24, 1), np.uint8)
    built = infer_inputs(inpainting_inputs(image, mask))
    assert [(t.name(), t.shape(), t.datatype()) for t in built] == [
        (IMAGE.name, [2, 16, 24, 3], IMAGE.dtype),
        (MASK.name, [2, 16, 24, 1], MASK.dtype),
    ]
