"""Inference over Triton's gRPC endpoint: the protocol whose cancellation Triton honours.

Triton 2.51 marks a request cancelled only when its gRPC call is cancelled (its HTTP
endpoint computes a request whose client left). Cancelling the task awaiting `infer_grpc`
cancels the call; Triton then drops the request from its queue, or the Python backend
answers it CANCELLED before running its batch (backend/cancellation.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import tritonclient.grpc as triton_grpc
from tritonclient.grpc import aio as grpc_aio

from lama_serve.core.contract import TensorSpec

# Triton 2.51 reads a restricted protocol's key from this metadata name, not the bare header's.
RESTRICTED_PREFIX = "triton-grpc-protocol-"


def grpc_client(url: str) -> grpc_aio.InferenceServerClient:
    return grpc_aio.InferenceServerClient(url)


async def infer_grpc(
    client: grpc_aio.InferenceServerClient,
    model: str,
    version: str,
    arrays: Mapping[TensorSpec, np.ndarray],
    outputs: Sequence[TensorSpec],
    timeout_us: int | None,
    headers: Mapping[str, str],
    priority: int = 0,
) -> tuple[dict[str, np.ndarray], str]:
    """(output name -> batched array, the version Triton ran) of one call; `headers` (the key of
    a Triton that restricts inference) travel as gRPC metadata, named the way Triton's
    `--grpc-restricted-protocol` expects them; `priority`: Triton's queue level (0: default)."""
    inputs = []
    for spec, array in arrays.items():
        tensor = triton_grpc.InferInput(spec.name, list(array.shape), spec.dtype)
        tensor.set_data_from_numpy(np.ascontiguousarray(array, dtype=spec.numpy_dtype))
        inputs.append(tensor)
    result = await client.infer(
        model,
        inputs,
        model_version=version,
        timeout=timeout_us,
        priority=priority,
        headers={f"{RESTRICTED_PREFIX}{k.lower()}": v for k, v in headers.items()},
        outputs=[triton_grpc.InferRequestedOutput(s.name) for s in outputs],
    )
    served = result.get_response().model_version or version
    return {spec.name: result.as_numpy(spec.name) for spec in outputs}, str(served)
