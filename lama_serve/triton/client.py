"""Contract tensors to Triton requests and back: the one request builder, sync and async.

Every caller (gateway, rollout smoke checks, benchmarks) names tensors by their
`core.contract` spec and gets numpy arrays back; failures leave as `triton.errors` classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import tritonclient.http as triton_http
from tritonclient.http import aio as triton_aio

from lama_serve.core.contract import INPUTS, OUTPUTS, TensorSpec
from lama_serve.triton.errors import classify
from lama_serve.triton.grpc_infer import grpc_client, infer_grpc

# Triton priorities of the lama configs' dynamic batcher (`priority_levels: 2`): level 1 is
# taken from the queue before level 2, the default (0 = the config's default_priority_level).
HIGH_PRIORITY = 1
DEFAULT_PRIORITY = 0


def priority_for(arrays: Mapping[TensorSpec, np.ndarray], high_priority_max_pixels: int) -> int:
    """Small calls (at most `high_priority_max_pixels` over all their images) go ahead of
    queued large ones, so a heavy request does not make every small one wait behind it."""
    first = next(iter(arrays.values()))
    pixels = int(np.prod(first.shape[:3]))  # N*H*W of the [N,H,W,C] inputs
    return HIGH_PRIORITY if pixels <= high_priority_max_pixels else DEFAULT_PRIORITY


def infer_inputs(arrays: Mapping[TensorSpec, np.ndarray]) -> list[triton_http.InferInput]:
    """Binary-encoded Triton inputs, one per contract tensor (arrays carry the batch axis)."""
    inputs = []
    for spec, array in arrays.items():
        tensor = triton_http.InferInput(spec.name, list(array.shape), spec.dtype)
        tensor.set_data_from_numpy(np.ascontiguousarray(array, dtype=spec.numpy_dtype), binary_data=True)
        inputs.append(tensor)
    return inputs


def requested_outputs(specs: Sequence[TensorSpec] = OUTPUTS) -> list[triton_http.InferRequestedOutput]:
    return [triton_http.InferRequestedOutput(spec.name, binary_data=True) for spec in specs]


def inpainting_inputs(image: np.ndarray, mask: np.ndarray) -> dict[TensorSpec, np.ndarray]:
    """The lama model's inputs for batched [N,H,W,3] images and [N,H,W,1] masks."""
    return dict(zip(INPUTS, (image, mask), strict=True))


@dataclass(frozen=True)
class Outputs:
    arrays: dict[str, np.ndarray]  # output name -> batched array
    model_version: str  # the version Triton actually ran


def _outputs(result: triton_http.InferResult, specs: Sequence[TensorSpec], asked: str) -> Outputs:
    served = str(result.get_response().get("model_version", asked))
    return Outputs({spec.name: result.as_numpy(spec.name) for spec in specs}, served)


@contextmanager
def translated(url: str, what: str) -> Iterator[None]:
    """Re-raise any client or transport failure inside as a `TritonError`."""
    try:
        yield
    except Exception as error:
        raise classify(error, url=url, what=what) from error


class AsyncTriton:
    """asyncio client of one Triton (the gateway's).

    Triton 2.51's HTTP endpoint does not cancel a request whose client left (only gRPC does):
    it still queues and computes it. So `infer` sends the caller's deadline as Triton's request
    timeout (a request still queued when it passes is dropped uncomputed; the model's queue
    policy sets `allow_timeout_override: true`), and with `grpc_url` it infers over gRPC, where
    cancelling the awaiting task cancels the request in Triton too (triton/grpc_infer.py).
    Measured in tests/reliability/test_cancellation.py."""

    def __init__(
        self, url: str, *, timeout_s: float, headers: Mapping[str, str] | None = None, grpc_url: str | None = None
    ) -> None:
        """`headers` go with every call: the key of a Triton that restricts inference."""
        self.url = url
        self.headers = dict(headers or {})
        self._grpc = grpc_client(grpc_url) if grpc_url else None
        # aiohttp's own deadline is a backstop: callers enforce theirs with anyio.fail_after.
        self._client = triton_aio.InferenceServerClient(url, conn_timeout=timeout_s + 5.0)

    async def close(self) -> None:
        await self._client.close()
        if self._grpc is not None:
            await self._grpc.close()

    async def infer(
        self,
        model: str,
        version: str,
        arrays: Mapping[TensorSpec, np.ndarray],
        outputs: Sequence[TensorSpec] = OUTPUTS,
        priority: int = DEFAULT_PRIORITY,
        deadline_s: float | None = None,
    ) -> Outputs:
        """`priority`: Triton queue priority (`priority_for`); the default level when 0.
        `deadline_s`: Triton drops the request if it is still queued after this long."""
        timeout_us = None if deadline_s is None else max(1, int(deadline_s * 1e6))
        with translated(self.url, f"run {model} v{version or 'latest'}"):
            if self._grpc is not None:
                return Outputs(
                    *await infer_grpc(self._grpc, model, version, arrays, outputs, timeout_us, self.headers, priority)
                )
            result = await self._client.infer(
                model,
                infer_inputs(arrays),
                model_version=version,
                outputs=requested_outputs(outputs),
                priority=priority,
                timeout=timeout_us,
                headers=self.headers,
            )
        return _outputs(result, outputs, version)

    async def model_ready(self, model: str, version: str = "") -> bool:
        with translated(self.url, f"check {model} readiness"):
            return bool(await self._client.is_model_ready(model, version, headers=self.headers))

    async def model_metadata(self, model: str, version: str = "") -> dict:
        with translated(self.url, f"read {model} metadata"):
            return await self._client.get_model_metadata(model, version, headers=self.headers)

    async def model_config(self, model: str, version: str = "") -> dict:
        with translated(self.url, f"read {model} config"):
            return await self._client.get_model_config(model, version, headers=self.headers)


class SyncTriton:
    """Blocking client of one Triton (rollout, `up`, benchmarks)."""

    def __init__(self, url: str, *, timeout_s: float = 600.0, headers: Mapping[str, str] | None = None) -> None:
        """`timeout_s` bounds one HTTP call; a model load includes warmup, so it must cover that."""
        self.url = url
        self.headers = dict(headers or {})
        self.raw = triton_http.InferenceServerClient(url, connection_timeout=10.0, network_timeout=timeout_s)

    def close(self) -> None:
        self.raw.close()

    def call(self, what: str, method: str, *args: object, **kwargs: object) -> object:
        """`self.raw.<method>(*args, **kwargs)` with errors classified, naming `what` failed."""
        with translated(self.url, what):
            return getattr(self.raw, method)(*args, **kwargs)

    def infer(
        self, model: str, version: str, arrays: Mapping[TensorSpec, np.ndarray], outputs: Sequence[TensorSpec] = OUTPUTS
    ) -> Outputs:
        with translated(self.url, f"run {model} v{version or 'latest'}"):
            result = self.raw.infer(
                model,
                infer_inputs(arrays),
                model_version=version,
                outputs=requested_outputs(outputs),
                headers=self.headers,
            )
        return _outputs(result, outputs, version)

    def server_ready(self) -> bool:
        """True when /v2/health/ready answers 200 (every loaded model ready); never raises."""
        try:
            return bool(self.raw.is_server_ready())
        except Exception:
            return False


def server_ready(url: str, timeout_s: float) -> bool:
    """One readiness probe of the Triton at `url` (host:port), its client closed after."""
    probe = SyncTriton(url, timeout_s=timeout_s)
    try:
        return probe.server_ready()
    finally:
        probe.close()
