"""The gateway's view of its model on Triton: inpaint calls and a readiness probe.

A thin adapter over `triton.client.AsyncTriton`: it adds the inference deadline and turns
`triton.errors` into the gateway's HTTP errors (`errors.api_error`). Small inpainting calls
go at Triton's high priority; large ones run one at a time per gateway process, so the
second CPU instance stays free for small calls and two large calls never hold twice the
memory budget at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import numpy as np

from lama_serve.core.contract import (
    BOX_LIST,
    BOXES,
    DETECTOR_CONTRACTS,
    IMAGE,
    INPAINTED,
    MIN_SIDE,
    OUTPUTS,
    PROBABILITY,
    PROBABILITY_MAP,
    SCORES,
    DetectorContract,
    TensorSpec,
)
from lama_serve.core.repository import ModelRepository
from lama_serve.detect.boxes import box_map
from lama_serve.detect.types import DetectionConfigError
from lama_serve.gateway.errors import ApiError, api_error
from lama_serve.triton.client import HIGH_PRIORITY, AsyncTriton, Outputs, inpainting_inputs, priority_for
from lama_serve.triton.errors import TritonError, TritonTimeout, TritonUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inpainted:
    pixels: np.ndarray  # (H, W, 3) uint8, still padded
    model_version: str


@dataclass(frozen=True)
class ModelStatus:
    ready: bool
    version: str | None = None
    device: str = "unknown"  # "cuda" or "cpu" from the model's instance group


class TritonModel:
    """Calls one model on one Triton server; every failure leaves as an `ApiError`."""

    def __init__(
        self,
        url: str,
        model: str,
        version: str,
        timeout_s: float,
        probe_timeout_s: float,
        retry_after_s: int,
        longest_timeout_s: float | None = None,
        headers: dict[str, str] | None = None,
        high_priority_max_pixels: int = 0,
        grpc_url: str | None = None,
    ) -> None:
        """`timeout_s`: the default deadline of a call; `longest_timeout_s`: the longest one a
        caller may pass to `infer` (the HTTP client's backstop), default `timeout_s`; `headers`:
        sent with every call (the key of a Triton that restricts inference);
        `high_priority_max_pixels`: calls this small jump Triton's queue (`priority_for`);
        `grpc_url`: infer over gRPC, so that calls the gateway gives up on are cancelled in Triton."""
        self._triton = AsyncTriton(
            url, timeout_s=max(timeout_s, longest_timeout_s or 0.0), headers=headers, grpc_url=grpc_url
        )
        self._high_priority_max_pixels = high_priority_max_pixels
        self._large_calls = anyio.Semaphore(1)
        self._model, self._version = model, version
        self._timeout_s, self._probe_timeout_s = timeout_s, probe_timeout_s
        self._retry_after_s = retry_after_s

    async def close(self) -> None:
        await self._triton.close()

    def _api_error(self, error: TritonError) -> ApiError:
        log.warning("Triton call failed: %s", error)
        return api_error(error, self._retry_after_s)

    async def infer(
        self, image: np.ndarray, mask: np.ndarray, version: str | None = None, timeout_s: float | None = None
    ) -> Inpainted:
        """One call; `version` (None: the configured one) lets every call of a request
        name the same version while a rollout changes what is served; `timeout_s` (None:
        the default) is the request's deadline, scaled to its pixels (inpaint/cost.py)."""
        version = self._version if version is None else version
        try:
            result = await self._within_deadline(
                self._model, version, inpainting_inputs(image, mask), timeout_s=timeout_s
            )
        except TritonError as exc:
            raise self._api_error(exc) from exc
        return Inpainted(result.arrays[INPAINTED.name][0], result.model_version)

    async def probability_map(
        self, model: str, image: np.ndarray, contract: DetectorContract = PROBABILITY_MAP
    ) -> np.ndarray | None:
        """[N,H,W,1] watermark probability of a detector model for [N,H,W,3] uint8 images:
        its map (core.contract.PROBABILITY_MAP), or its boxes painted with their scores
        (BOX_LIST, detect.boxes); None when Triton runs but does not serve `model` (not loaded)."""
        try:
            result = await self._within_deadline(model, "", {IMAGE: image}, contract.outputs)
        except TritonUnavailable as exc:
            if await self.model_ready(model) is False:
                return None
            raise self._api_error(exc) from exc
        except TritonError as exc:
            raise self._api_error(exc) from exc
        if contract is BOX_LIST:
            return box_map(result.arrays[BOXES.name], result.arrays[SCORES.name], image.shape[1:3])
        return result.arrays[PROBABILITY.name]

    async def detector_contract(self, model: str) -> DetectorContract | None:
        """The detector contract `model`'s outputs follow (Triton's metadata); None when
        Triton cannot tell now (not loaded, not reachable). DetectionConfigError when its
        outputs are no contract's: that model cannot be used until it is replaced."""
        try:
            with anyio.fail_after(self._probe_timeout_s):
                metadata = await self._triton.model_metadata(model)
        except (TimeoutError, TritonError):
            return None
        names = {output["name"] for output in metadata.get("outputs", [])}
        for contract in DETECTOR_CONTRACTS.values():
            if names == {spec.name for spec in contract.outputs}:
                return contract
        raise DetectionConfigError(
            f"detector model {model} has outputs {sorted(names)}; a detector returns "
            + " or ".join(str(sorted(spec.name for spec in c.outputs)) for c in DETECTOR_CONTRACTS.values())
            + " (core.contract; `lama-serve detector add` checks a model before it enters the repository)"
        )

    async def model_ready(self, model: str) -> bool | None:
        """Whether Triton serves `model` (latest version); None when Triton cannot be asked."""
        try:
            with anyio.fail_after(self._probe_timeout_s):
                return await self._triton.model_ready(model)
        except (TimeoutError, TritonError):
            return None

    async def _within_deadline(
        self,
        model: str,
        version: str,
        arrays: Mapping[TensorSpec, np.ndarray],
        outputs: tuple[TensorSpec, ...] = OUTPUTS,
        *,
        timeout_s: float | None = None,
    ) -> Outputs:
        """One Triton call under `timeout_s` (None: the default deadline); a TritonTimeout after it."""
        timeout_s = self._timeout_s if timeout_s is None else timeout_s
        priority = priority_for(arrays, self._high_priority_max_pixels)
        one_at_a_time = model == self._model and self._high_priority_max_pixels and priority != HIGH_PRIORITY
        deadline = anyio.current_time() + timeout_s
        try:
            with anyio.fail_after(timeout_s):
                async with self._large_calls if one_at_a_time else contextlib.nullcontext():
                    # what is left of the deadline after waiting for the large-call slot
                    return await self._triton.infer(
                        model, version, arrays, outputs, priority, deadline_s=deadline - anyio.current_time()
                    )
        except TimeoutError as exc:
            raise TritonTimeout(
                f"Inference took longer than {timeout_s:g} s; retry with a smaller image, hd_strategy=crop or later."
            ) from exc

    async def probe(self) -> TritonError | None:
        """One tiny real inference (what Triton's readiness cannot tell: can the backend
        still compute?) at the smallest side the model takes; the failure, or None."""
        image = np.zeros((1, MIN_SIDE, MIN_SIDE, 3), np.uint8)
        mask = np.full((1, MIN_SIDE, MIN_SIDE, 1), 255, np.uint8)
        try:
            with anyio.fail_after(self._probe_timeout_s):
                await self._triton.infer(
                    self._model, self._version, inpainting_inputs(image, mask), priority=HIGH_PRIORITY
                )
        except TimeoutError:
            return TritonTimeout(f"the probe inference took over {self._probe_timeout_s:g} s")
        except TritonError as exc:
            return exc
        return None

    async def status(self) -> ModelStatus:
        """Readiness, serving version and device; never raises (health must answer)."""
        try:
            with anyio.fail_after(self._probe_timeout_s):
                if not await self._triton.model_ready(self._model, self._version):
                    return ModelStatus(ready=False)
                metadata, config = await asyncio.gather(
                    self._triton.model_metadata(self._model, self._version),
                    self._triton.model_config(self._model, self._version),
                )
        except (TimeoutError, TritonError) as exc:
            log.info("Triton readiness probe failed: %s", exc)
            return ModelStatus(ready=False)
        return ModelStatus(ready=True, version=self._serving_version(metadata), device=device_from_config(config))

    def _serving_version(self, metadata: dict) -> str | None:
        """The pinned version, else the newest loaded one (Triton's default `latest` policy)."""
        if self._version:
            return self._version
        loaded = [int(v) for v in metadata.get("versions", []) if str(v).isdigit()]
        return str(max(loaded)) if loaded else None


def device_from_config(config: dict) -> str:
    kinds = {group.get("kind", "KIND_AUTO") for group in config.get("instance_group", [])}
    return "cuda" if "KIND_GPU" in kinds else "cpu"


def random_weights_warning(repository: Path, model: str, version: str | None) -> str | None:
    """A loud warning when the served version was exported without a trained checkpoint."""
    manifest = ModelRepository(repository, model).manifest(version)
    if manifest is None or not manifest.random_weights:
        return None
    return (
        f"MODEL {model} v{version} WAS EXPORTED FROM RANDOM WEIGHTS: outputs are noise. "
        "Export a trained LaMa checkpoint (LAMA_CHECKPOINT) and reload."
    )
