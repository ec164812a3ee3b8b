"""The one Triton client of the process and the mapping of its failures to HTTP errors."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import anyio
import numpy as np
from tritonclient.http import InferInput, InferRequestedOutput
from tritonclient.http.aio import InferenceServerClient
from tritonclient.utils import InferenceServerException

from lama_serve.core.contract import IMAGE, INPAINTED, MASK

from lama_serve.gateway.errors import InferenceTimeout, ModelUnavailable, UpstreamFailed

log = logging.getLogger(__name__)

# Triton statuses meaning "overloaded or not serving right now": queue full, model loading.
_RETRYABLE_STATUSES = {"429", "503"}
# "not healthy": a hung or crashed Python-backend stub (HTTP 500), which Triton restarts.
_UNAVAILABLE_HINTS = (
    "unknown model", "not found", "not ready", "unavailable", "is not loaded", "not healthy"
)


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
        self, url: str, model: str, version: str, timeout_s: float, probe_timeout_s: float, retry_after_s: int
    ) -> None:
        # aiohttp's own deadline is a backstop; `anyio.fail_after` below enforces ours.
        self._client = InferenceServerClient(url, conn_timeout=timeout_s + 5.0)
        self._model, self._version = model, version
        self._timeout_s, self._probe_timeout_s = timeout_s, probe_timeout_s
        self._retry_after_s = retry_after_s
        self._url = url

    async def close(self) -> None:
        await self._client.close()

    async def infer(self, image: np.ndarray, mask: np.ndarray, version: str | None = None) -> Inpainted:
        """One call; `version` (None: the configured one) lets every call of a request
        name the same version while a rollout changes what is served."""
        version = self._version if version is None else version
        inputs = [
            InferInput(IMAGE.name, list(image.shape), IMAGE.dtype),
            InferInput(MASK.name, list(mask.shape), MASK.dtype),
        ]
        inputs[0].set_data_from_numpy(image, binary_data=True)
        inputs[1].set_data_from_numpy(mask, binary_data=True)
        outputs = [InferRequestedOutput(INPAINTED.name, binary_data=True)]
        try:
            with anyio.fail_after(self._timeout_s):
                result = await self._client.infer(
                    self._model, inputs, model_version=version, outputs=outputs
                )
        except TimeoutError as exc:
            raise InferenceTimeout(
                f"Inference took longer than {self._timeout_s:g} s; retry with a smaller image or later."
            ) from exc
        except aiohttp.ClientError as exc:
            log.warning("Triton at %s unreachable: %s", self._url, exc)
            raise unavailable("cannot reach the inference server", self._retry_after_s) from exc
        except InferenceServerException as exc:
            log.warning("Triton rejected an inference (status %s): %s", exc.status(), exc.message())
            raise classify(exc, self._retry_after_s) from exc
        served = str(result.get_response().get("model_version", version))
        return Inpainted(result.as_numpy(INPAINTED.name)[0], served)

    async def status(self) -> ModelStatus:
        """Readiness, serving version and device; never raises (health must answer)."""
        try:
            with anyio.fail_after(self._probe_timeout_s):
                if not await self._client.is_model_ready(self._model, self._version):
                    return ModelStatus(ready=False)
                metadata, config = await asyncio.gather(
                    self._client.get_model_metadata(self._model, self._version),
                    self._client.get_model_config(self._model, self._version),
                )
        except (TimeoutError, aiohttp.ClientError, InferenceServerException) as exc:
            log.info("Triton readiness probe failed: %s", exc)
            return ModelStatus(ready=False)
        return ModelStatus(
            ready=True, version=self._serving_version(metadata), device=device_from_config(config)
        )

    def _serving_version(self, metadata: dict) -> str | None:
        """The pinned version, else the newest loaded one (Triton's default `latest` policy)."""
        if self._version:
            return self._version
        loaded = [int(v) for v in metadata.get("versions", []) if str(v).isdigit()]
        return str(max(loaded)) if loaded else None


def unavailable(why: str, retry_after_s: int) -> ModelUnavailable:
    return ModelUnavailable(
        f"Model unavailable: {why}. Retry after {retry_after_s} s; "
        "if it persists the operator should check Triton.",
        headers={"Retry-After": str(retry_after_s)},
    )


def classify(exc: InferenceServerException, retry_after_s: int) -> ModelUnavailable | UpstreamFailed:
    """Overload or a model that is not loaded is retryable (503); anything else is Triton's fault (502)."""
    message = exc.message() or ""
    if exc.status() in _RETRYABLE_STATUSES or any(hint in message.lower() for hint in _UNAVAILABLE_HINTS):
        return unavailable("the inference server is busy or the model is not loaded", retry_after_s)
    return UpstreamFailed(f"The inference server failed: {message}. The operator should check Triton's log.")


def device_from_config(config: dict) -> str:
    kinds = {group.get("kind", "KIND_AUTO") for group in config.get("instance_group", [])}
    return "cuda" if "KIND_GPU" in kinds else "cpu"


def export_manifest(repository: Path, model: str, version: str | None) -> dict:
    """The served version's export.json; empty when unknown or unreadable (external Triton)."""
    if version is None:
        return {}
    try:
        manifest = json.loads((repository / model / version / "export.json").read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def served_weights(manifest: dict) -> dict[str, str] | None:
    """Name and digest of the exported weights; older exports only recorded the sha256."""
    if isinstance(manifest.get("weights"), dict):
        return {k: v for k, v in manifest["weights"].items() if isinstance(v, str)}
    sha256 = manifest.get("checkpoint_sha256")
    if not isinstance(sha256, str):
        return None
    name = "random" if sha256 == "random" else Path(manifest.get("checkpoint_path") or "checkpoint").name
    return {"name": name, "sha256": sha256}


def random_weights_warning(repository: Path, model: str, version: str | None) -> str | None:
    """A loud warning when the served version was exported without a trained checkpoint."""
    if export_manifest(repository, model, version).get("checkpoint_sha256") != "random":
        return None
    return (
        f"MODEL {model} v{version} WAS EXPORTED FROM RANDOM WEIGHTS: outputs are noise. "
        "Export a trained LaMa checkpoint (LAMA_CHECKPOINT) and reload."
    )
