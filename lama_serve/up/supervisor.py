"""`TritonSupervisor`: keeps `up`'s bundled tritonserver running, restarting it when it exits.

A Triton killed under a serving gateway (OOM killer, crash) used to stop the whole command;
now it is started again on the same ports with the same secret, after a backoff, up to
TRITON_RESTART_ATTEMPTS times in a row. Meanwhile the gateway answers 503 + Retry-After.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from lama_serve.core.backoff import Backoff
from lama_serve.core.errors import LamaServeError
from lama_serve.triton.process import TritonProcess

LOGGER = logging.getLogger(__name__)
_POLL_S = 0.5


class TritonSupervisor:
    """Owns the current TritonProcess; `watch` restarts it until told to stop or out of attempts."""

    def __init__(
        self,
        new_process: Callable[[], TritonProcess],
        *,
        ready_timeout_s: float,
        attempts: int,
        backoff: Backoff,
        on_ready: Callable[[TritonProcess], None] = lambda _: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`new_process`: a fresh, unstarted TritonProcess (same ports and secret each time);
        `on_ready`: run after every (re)start, e.g. restoring the rollout's versions."""
        self._new_process, self._ready_timeout_s = new_process, ready_timeout_s
        self._attempts, self._backoff, self._on_ready, self._sleep = attempts, backoff, on_ready, sleep
        self.current: TritonProcess | None = None
        self.restarts = 0

    def start(self) -> TritonProcess:
        """Start and wait until ready (raises TritonStartupError like TritonProcess)."""
        process = self._new_process().start()
        self.current = process
        process.wait_ready(self._ready_timeout_s)
        self._on_ready(process)
        return process

    def watch(self, stopping: Callable[[], bool]) -> bool:
        """Block while serving; restart Triton when it exits. False once it exited and
        `attempts` restarts in a row failed (the caller should stop), True when `stopping()`."""
        while not stopping():
            if self.current is not None and self.current.returncode is not None and not self._restart():
                return False
            self._sleep(_POLL_S)
        return True

    def _restart(self) -> bool:
        dead = self.current
        assert dead is not None
        LOGGER.error(
            "tritonserver exited with status %s while serving; restarting it. Its last log lines:\n%s",
            dead.returncode,
            dead.log_tail(),
        )
        dead.stop()  # also ends stubs it left behind
        for attempt in range(1, self._attempts + 1):
            wait = self._backoff.next_wait()
            LOGGER.warning("restarting tritonserver in %.0f s (attempt %d of %d)", wait, attempt, self._attempts)
            self._sleep(wait)
            started = time.monotonic()
            try:
                self.start()
            except LamaServeError as error:  # Triton would not start, or the rollout restore failed
                LOGGER.error("tritonserver restart failed: %s", error)
                if self.current is not None:
                    self.current.stop()
                continue
            self._backoff.reset()
            self.restarts += 1
            LOGGER.warning("tritonserver restarted and ready in %.1f s", time.monotonic() - started)
            return True
        LOGGER.error("tritonserver did not come back after %d attempts; stopping", self._attempts)
        return False

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
