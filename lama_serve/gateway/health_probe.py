"""The gateway's one truth about its backend: a cached tiny inference, and self-healing.

Triton keeps reporting a model ready when its Python stub died (every call then fails with
"stub ... not healthy"), and its server readiness can stay false after a rejected rollout
while the model serves fine. So health is a real inference of `PROBE_SIDE` px, run at most
once per HEALTH_CACHE_S and shared by every /api/v1/health hit. When it fails while Triton
still lists the model, the model is loaded again through the repository API
(`TritonControl.reload`, needs TRITON_ADMIN_KEY), with backoff; meanwhile inference
answers 503 + Retry-After at once instead of waiting for Triton to fail.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from lama_serve.core.backoff import Backoff
from lama_serve.core.settings import Settings
from lama_serve.gateway.triton import ModelStatus, TritonModel
from lama_serve.triton.control import TritonControl
from lama_serve.triton.errors import TritonOverloaded, TritonTimeout

log = logging.getLogger(__name__)

# A busy backend (queue full, probe stuck behind a long call) is alive: not a reason to reload.
_BUSY = (TritonOverloaded, TritonTimeout)


@dataclass(frozen=True)
class Health:
    status: ModelStatus  # ready=True only when the probe inference succeeded (or was merely slow)
    problem: str | None = None  # why not healthy, for the 503 body


class HealthProbe:
    """Cached health of one model; reloads it (via `reload`) when its backend cannot infer."""

    def __init__(
        self,
        triton: TritonModel,
        *,
        cache_s: float,
        backoff: Backoff,
        reload: Callable[[], list[str]] | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`reload`: blocking unload+load of the model, returns the versions (None: no admin
        key, the operator must reload by hand)."""
        self._triton, self._cache_s, self._backoff, self._reload = triton, cache_s, backoff, reload
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last: Health | None = None
        self._checked_at = 0.0
        self._recovery: asyncio.Task[None] | None = None

    @property
    def recovering(self) -> bool:
        return self._recovery is not None and not self._recovery.done()

    async def check(self) -> Health:
        """The health at most `cache_s` old; concurrent callers share one probe."""
        async with self._lock:
            if self._last is None or self._clock() - self._checked_at >= self._cache_s:
                self._last, self._checked_at = await self._probe(), self._clock()
            return self._last

    async def close(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)

    async def _probe(self) -> Health:
        if self.recovering:
            return Health(ModelStatus(ready=False), "the model is being reloaded after its backend failed")
        status = await self._triton.status()
        if not status.ready:
            return Health(status, "Triton has no ready model")
        failure = await self._triton.probe()
        if failure is None or isinstance(failure, _BUSY):
            return Health(status)
        log.error("health probe: the model is loaded but cannot infer (%s)", failure)
        self._start_recovery()
        return Health(
            ModelStatus(ready=False, device=status.device),
            f"the model is loaded but its backend cannot infer ({failure})",
        )

    def _start_recovery(self) -> None:
        if self._reload is None:
            log.error(
                "cannot reload the model: set TRITON_ADMIN_KEY so the gateway may use "
                "Triton's repository API (or reload it by hand)"
            )
        elif not self.recovering:
            self._recovery = asyncio.create_task(self._recover(self._reload))

    async def _recover(self, reload: Callable[[], list[str]]) -> None:
        """Reload until it works, waiting longer after each failure."""
        while True:
            started = self._clock()
            try:
                versions = await asyncio.to_thread(reload)
            except Exception as error:  # the loop must outlive any failure
                wait = self._backoff.next_wait()
                log.error("model reload failed (%r); retrying in %.0f s", error, wait)
                await asyncio.sleep(wait)
                continue
            self._backoff.reset()
            self._checked_at = 0.0  # the next check probes again
            log.warning(
                "model reloaded (versions %s) in %.1f s after its backend failed",
                versions or "latest",
                self._clock() - started,
            )
            return


def build_health_probe(settings: Settings, triton: TritonModel) -> HealthProbe:
    """The app's probe; it can reload the model only with TRITON_ADMIN_KEY set."""

    def reload() -> list[str]:
        control = TritonControl.for_settings(settings)
        try:
            return control.reload()
        finally:
            control.close()

    return HealthProbe(
        triton,
        cache_s=settings.health_cache_s,
        backoff=Backoff(settings.recovery_backoff_s, settings.recovery_backoff_max_s),
        reload=reload if settings.triton_admin_key else None,
    )
