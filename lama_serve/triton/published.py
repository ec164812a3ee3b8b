"""How to reach the Triton that `lama-serve up` started: a small owner-only file while it runs.

`up` makes Triton's admin key per start (unless TRITON_ADMIN_KEY is set) and may use any
port, so `lama-serve rollout` in another shell could not reach it. `up` writes the URL, the
key and the rollout state path to UP_INFO_PATH (mode 0600, replaced atomically) and removes
it on exit; rollout reads it when TRITON_URL / TRITON_ADMIN_KEY are unset. A file left by
an `up` that was killed names a dead pid and is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from lama_serve.triton.errors import TritonError

_OWNER_ONLY = 0o600


class PublishedFileError(TritonError):
    """UP_INFO_PATH cannot be trusted or read; the message says what to do."""


@dataclass(frozen=True)
class PublishedTriton:
    """What a client needs to drive `up`'s Triton."""

    url: str  # host:port of Triton's HTTP endpoint
    admin_key: str
    rollout_state_path: str
    pid: int  # of the `up` process: a file whose pid is gone is stale

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, another user's
            return True
        return True


@contextlib.contextmanager
def published(path: Path, triton: PublishedTriton) -> Iterator[None]:
    """Write `triton` to `path` (0600, never readable by others even briefly) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _OWNER_ONLY)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(triton), file)
    os.replace(partial, path)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def read_published(path: Path) -> PublishedTriton | None:
    """The running `up`'s Triton, or None (no file, or its `up` is gone)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_IMODE(mode) & 0o077:
        raise PublishedFileError(
            f"{path} is readable by other users and holds Triton's admin key: "
            f"delete it and restart `lama-serve up` (it writes the file 0600)"
        )
    try:
        triton = PublishedTriton(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise PublishedFileError(
            f"cannot read {path} ({error}); delete it, or set TRITON_URL and TRITON_ADMIN_KEY"
        ) from error
    return triton if triton.alive() else None
