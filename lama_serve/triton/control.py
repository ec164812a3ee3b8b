"""`TritonControl`: load, unload, wait for and drain versions of the model on a running Triton.

Triton runs with explicit model control. Which versions it serves is set by a config
override sent with the load request: the model's *current* config as Triton reports it
(whichever of config.pbtxt or configs/cpu.pbtxt it was loaded from, with every field
filled in) with `version_policy: {specific: {versions: [...]}}` swapped in. Versions
already loaded keep serving until their replacement is ready; a version left out of the
list is unloaded once its in-flight requests finish.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

import numpy as np

from lama_serve.core.contract import INPAINTED, MODEL_NAME
from lama_serve.core.settings import Settings
from lama_serve.triton.client import SyncTriton, inpainting_inputs
from lama_serve.triton.errors import TritonError

# Index states of a version that is, or is becoming, able to serve.
_ACTIVE_STATES = {"READY", "LOADING", "UNLOADING"}
_POLL_S = 0.2


class TritonControl:
    """The repository API of one Triton for one model (`lama` by default)."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        *,
        model: str = MODEL_NAME,
        timeout_s: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`timeout_s` bounds one HTTP call; a load includes warmup, so it must cover that."""
        self.url, self.model = url, model
        self._triton = SyncTriton(url, timeout_s=timeout_s, headers=headers)
        self._sleep = sleep

    @classmethod
    def for_settings(cls, settings: Settings) -> TritonControl:
        """The control of the configured Triton and model, with the admin key from settings."""
        return cls(
            settings.effective_triton_url,
            settings.admin_headers,
            model=settings.model_name,
            timeout_s=settings.rollout_ready_timeout_s,
        )

    def close(self) -> None:
        self._triton.close()

    def version_states(self) -> dict[str, str]:
        """Version -> Triton's state for it (READY, LOADING, UNLOADING, UNAVAILABLE)."""
        index = self._triton.call(
            "list the model repository", "get_model_repository_index", headers=self._triton.headers
        )
        return {
            str(entry["version"]): entry.get("state", "UNAVAILABLE")
            for entry in index
            if entry.get("name") == self.model and "version" in entry
        }

    def ready_versions(self) -> list[str]:
        """Versions serving right now, oldest first."""
        return sorted((v for v, s in self.version_states().items() if s == "READY"), key=int)

    def load_versions(self, versions: Iterable[str]) -> None:
        """Serve exactly `versions` (blocks until loaded and warmed up, or raises)."""
        wanted = sorted({int(v) for v in versions})
        config = self._triton.call("read the model config", "get_model_config", self.model)
        config["version_policy"] = {"specific": {"versions": wanted}}
        self._triton.call(
            f"load {self.model} versions {wanted}",
            "load_model",
            self.model,
            config=json.dumps(config),
            headers=self._triton.headers,
        )

    def reload(self) -> list[str]:
        """Load again the versions serving now (blocks until warmed up); returns them. What
        brings back a model whose Python stub died: Triton keeps reporting it ready, but a
        load with a config override starts new instances (new stubs) and swaps them in. (An
        unload first would hang: the dead instance never finishes its failed request.)"""
        versions = self.ready_versions()
        if versions:
            self.load_versions(versions)
        else:  # none is READY: let the version policy choose
            self._triton.call(f"load {self.model}", "load_model", self.model, headers=self._triton.headers)
        return versions

    def wait_ready(self, version: str, timeout_s: float) -> None:
        """Block until `version` answers ready (its warmup done)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._triton.call("check readiness", "is_model_ready", self.model, version):
                return
            self._sleep(_POLL_S)
        raise TritonError(
            f"{self.model} v{version} was not ready within {timeout_s:g} s; check "
            f"Triton's log, or raise ROLLOUT_READY_TIMEOUT_S for a slow warmup."
        )

    def wait_unloaded(self, version: str, timeout_s: float) -> None:
        """Block until `version` finished its in-flight requests and left memory."""
        deadline = time.monotonic() + timeout_s
        while self.version_states().get(version) in _ACTIVE_STATES:
            if time.monotonic() > deadline:
                raise TritonError(
                    f"{self.model} v{version} still not unloaded after "
                    f"{timeout_s:g} s; check Triton's log for stuck requests."
                )
            self._sleep(_POLL_S)

    def request_count(self, version: str) -> int:
        """Requests `version` finished so far (successes and failures)."""
        stats = self._triton.call("read inference statistics", "get_inference_statistics", self.model, version)
        total = 0
        for model in stats.get("model_stats", []):
            inference = model.get("inference_stats", {})
            total += inference.get("success", {}).get("count", 0) + inference.get("fail", {}).get("count", 0)
        return total

    def drain(self, version: str, *, min_wait_s: float, quiet_s: float, timeout_s: float) -> bool:
        """Wait until `version` stops receiving requests: True once its count stayed still for
        `quiet_s`, False if it still moved after `timeout_s` (a gateway not reading the state)."""
        self._sleep(min_wait_s)
        deadline = time.monotonic() + timeout_s
        count, still_since = self.request_count(version), time.monotonic()
        while time.monotonic() - still_since < quiet_s:
            if time.monotonic() > deadline:
                return False
            self._sleep(_POLL_S)
            latest = self.request_count(version)
            if latest != count:
                count, still_since = latest, time.monotonic()
        return True

    def infer(self, version: str, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One inference on exactly `version` (batch of one); returns [H, W, 3] uint8."""
        outputs = self._triton.infer(self.model, version, inpainting_inputs(image[None], mask[None]))
        return outputs.arrays[INPAINTED.name][0]
