"""The rollout state file: which versions get traffic, in what split, and how they got there.

One small JSON file is the single source of truth every gateway process reads (see
router.py); it is replaced atomically (temp file + os.replace), so a reader sees either the
old or the new file, never a half-written one. Only `lama-serve rollout|promote|rollback`
write it, one at a time (`state_lock`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import getpass
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lama_serve.core.errors import LamaServeError

SCHEMA = 1
# Gateways re-read the whole file on every change: keep it small.
MAX_HISTORY = 200


class StateError(LamaServeError):
    """The state file cannot be read, written or locked; the message says what to do."""


def current_user() -> str:
    """The OS user running the command (recorded as `who` in the history)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers with arbitrary uids)
        return f"uid {os.getuid()}"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class HistoryEntry:
    """One state change: who moved traffic from which version to which, and why it was safe."""

    action: str  # rollout | adjust | promote | rollback | rejected
    to_version: str
    from_version: str | None = None
    canary_percent: float | None = None
    smoke: dict[str, Any] | None = None
    note: str = ""
    user: str = field(default_factory=current_user)
    at: str = field(default_factory=utc_now)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["from"], data["to"] = data.pop("from_version"), data.pop("to_version")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryEntry:
        data = dict(data)
        data["from_version"], data["to_version"] = data.pop("from", None), data.pop("to")
        return cls(**data)


@dataclass(frozen=True)
class RolloutState:
    """`stable` gets 100 - canary_percent of the traffic, `canary` (when set) the rest."""

    stable: str
    canary: str | None = None
    canary_percent: float = 0.0
    previous: str | None = None  # what `rollback` returns to once a canary was promoted
    history: tuple[HistoryEntry, ...] = ()

    def split(self) -> dict[str, float]:
        """Version -> percent of traffic; versions with no share are left out."""
        if self.canary is None or self.canary_percent <= 0:
            return {self.stable: 100.0}
        if self.canary_percent >= 100:
            return {self.canary: 100.0}
        return {self.stable: 100.0 - self.canary_percent, self.canary: self.canary_percent}

    def serving_versions(self) -> list[str]:
        """Versions Triton must keep loaded for this state (the canary even at 0 %)."""
        return [self.stable] + ([self.canary] if self.canary else [])

    def record(self, entry: HistoryEntry, **changes: Any) -> RolloutState:
        """A copy with `changes` applied and `entry` appended to the (bounded) history."""
        history = (*self.history, entry)[-MAX_HISTORY:]
        return dataclasses.replace(self, history=history, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "stable": self.stable,
            "canary": self.canary,
            "canary_percent": self.canary_percent,
            "previous": self.previous,
            "split": self.split(),
            "updated_at": utc_now(),
            "history": [entry.to_json() for entry in self.history],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RolloutState:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"unknown schema {data.get('schema')!r} (this version reads {SCHEMA})")
        return cls(
            stable=str(data["stable"]),
            canary=_str_or_none(data.get("canary")),
            canary_percent=float(data.get("canary_percent", 0.0)),
            previous=_str_or_none(data.get("previous")),
            history=tuple(HistoryEntry.from_json(e) for e in data.get("history", [])),
        )


def load_state(path: Path) -> RolloutState | None:
    """The state in `path`, or None when no rollout ever happened there."""
    try:
        return RolloutState.from_json(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StateError(
            f"cannot read rollout state {path}: {error}. Fix or restore the file (it is JSON; "
            f"a backup may be in your ConfigMap/volume history) before changing traffic."
        ) from error


def save_state(path: Path, state: RolloutState) -> None:
    """Write `state` to `path` atomically: readers never see a partial file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise StateError(
            f"cannot write rollout state {path}: {error}; make its directory "
            f"writable or point ROLLOUT_STATE_PATH elsewhere."
        ) from error
    try:
        with os.fdopen(fd, "w") as tmp:
            json.dump(state.to_json(), tmp, indent=2)
            tmp.write("\n")
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)  # gateways may run as another user
        os.replace(tmp_name, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise StateError(f"cannot write rollout state {path}: {error}") from error


def publish_state(path: Path, command: str | None, *, timeout_s: float) -> str | None:
    """Run the operator's publish command (e.g. `kubectl apply` of a ConfigMap) with
    $ROLLOUT_STATE_PATH set; returns why it failed, or None (also when there is none)."""
    if not command:
        return None
    env = {**os.environ, "ROLLOUT_STATE_PATH": str(path)}
    try:
        done = subprocess.run(
            command, shell=True, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return f"still running after {timeout_s:g} s"
    if done.returncode != 0:
        return f"exit status {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]}"
    return None


@contextlib.contextmanager
def state_lock(path: Path) -> Iterator[None]:
    """Hold `<path>.lock` so two rollout commands never interleave their changes."""
    lock_path = Path(path).with_name(Path(path).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise StateError(
                f"another rollout command holds {lock_path}; wait for it to finish, then run this command again."
            ) from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
