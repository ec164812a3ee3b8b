"""`VersionRouter`: the gateway's per-request choice of model version from the state file.

Each `choose()` costs one `os.stat`; the file is parsed again only when its inode, mtime or
size changed (os.replace and Kubernetes' ConfigMap symlink swap both change the inode), so
a rollout reaches every gateway process on its next request without a restart.

Picks follow the split exactly and interleave (smooth weighted round-robin, as nginx does):
with a 10 % canary every 10th request goes to the canary, so a low-traffic gateway sees
the canary promptly and the proportions hold over any window, not just on average.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from lama_serve.traffic.state import RolloutState, StateError, load_state

log = logging.getLogger(__name__)


class VersionRouter:
    """Thread-safe; one per gateway process."""

    def __init__(self, state_path: Path) -> None:
        self._path = Path(state_path)
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._weights: dict[str, float] = {}
        self._credit: dict[str, float] = {}

    @property
    def state_path(self) -> Path:
        return self._path

    def split(self) -> dict[str, float] | None:
        """Version -> percent in force now; None when there is no state file."""
        with self._lock:
            self._refresh()
            return dict(self._weights) or None

    def choose(self) -> str | None:
        """The version for the next request, or None: use the gateway's configured version."""
        with self._lock:
            self._refresh()
            if not self._weights:
                return None
            total = sum(self._weights.values())
            for version, weight in self._weights.items():
                self._credit[version] += weight
            chosen = max(self._credit, key=self._credit.__getitem__)
            self._credit[chosen] -= total
            return chosen

    def _refresh(self) -> None:
        """Re-read the file if it changed; keep the last good split if it became unreadable."""
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            self._signature, self._weights, self._credit = None, {}, {}
            return
        except OSError as error:
            log.warning("cannot stat rollout state %s (%s); keeping the current split", self._path, error)
            return
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if signature == self._signature:
            return
        try:
            state = load_state(self._path)
        except StateError as error:
            log.error("%s Keeping the split %s meanwhile.", error, self._weights or "(none)")
            self._signature = signature  # do not re-parse a bad file on every request
            return
        self._signature = signature
        self._apply(state)

    def _apply(self, state: RolloutState | None) -> None:
        weights = state.split() if state else {}
        if weights != self._weights:
            log.info("model traffic split is now %s", _describe(weights))
            self._weights = weights
            self._credit = dict.fromkeys(weights, 0.0)


def _describe(weights: dict[str, float]) -> str:
    if not weights:
        return "the gateway's configured version (no rollout state)"
    return ", ".join(f"v{version} {percent:g}%" for version, percent in weights.items())
