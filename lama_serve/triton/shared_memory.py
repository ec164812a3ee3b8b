"""The Python backend's shared-memory regions of the tritonservers we start, cleaned up.

Triton's Python backend (and the backends built on it) talk to their stub processes through
POSIX shared-memory regions in /dev/shm, 2-30 MB per model instance. Triton unlinks them when
it exits cleanly; a crashed or killed server leaves them behind, and a stack that restarts
its Triton after every crash, or is itself restarted after an out-of-memory kill, would pile
them up until a container's /dev/shm is full and no Triton can start.

So each server gets its own region prefix (`--backend-config=python,shm-region-prefix-name`)
naming the process that started it: `lama_serve_<pid>_<random>_`. `TritonProcess.stop()`
removes its server's regions once the server is gone (`remove_regions`), and every start
removes the regions of starters that no longer run (`remove_orphans`: their server died with
them or was never stopped).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

LOGGER = logging.getLogger(__name__)
SHARED_MEMORY = Path("/dev/shm")  # where POSIX shared-memory regions live on Linux
PREFIX = "lama_serve_"


def new_prefix() -> str:
    """A region prefix for one server started by this process."""
    return f"{PREFIX}{os.getpid()}_{secrets.token_hex(4)}_"


def remove_regions(prefix: str, folder: Path = SHARED_MEMORY) -> int:
    """Unlink the regions named `prefix`*; how many were removed."""
    removed = 0
    for region in folder.glob(f"{prefix}*"):
        with contextlib.suppress(OSError):
            region.unlink()
            removed += 1
    if removed:
        LOGGER.info("removed %d shared-memory regions left by a tritonserver that did not exit cleanly", removed)
    return removed


def remove_orphans(folder: Path = SHARED_MEMORY) -> int:
    """Unlink the regions of servers whose starting process no longer runs."""
    starters = {region.name[len(PREFIX) :].split("_", 1)[0] for region in folder.glob(f"{PREFIX}*")}
    dead = [pid for pid in starters if pid.isdigit() and not _running(int(pid))]
    return sum(remove_regions(f"{PREFIX}{pid}_", folder) for pid in dead)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        pass
    return True
