"""triton.shared_memory: the regions of servers that died are removed, others are kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lama_serve.triton.shared_memory import PREFIX, new_prefix, remove_orphans, remove_regions


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _region(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(b"\0" * 16)
    return path


def test_a_new_prefix_names_this_process_and_differs_each_time() -> None:
    first, second = new_prefix(), new_prefix()
    assert first.startswith(f"{PREFIX}{os.getpid()}_") and first.endswith("_") and first != second


def test_regions_of_a_dead_starter_are_removed_and_the_rest_kept(tmp_path: Path) -> None:
    dead = _dead_pid()
    orphans = [_region(tmp_path, f"{PREFIX}{dead}_ab12cd34_{i}") for i in range(2)]
    ours = _region(tmp_path, f"{new_prefix()}0")
    other = _region(tmp_path, "triton_python_backend_shm_region_0")  # not ours to judge
    odd = _region(tmp_path, f"{PREFIX}notapid_0")
    assert remove_orphans(tmp_path) == 2
    assert not any(path.exists() for path in orphans)
    assert ours.exists() and other.exists() and odd.exists()


def test_remove_regions_takes_one_prefix_only(tmp_path: Path) -> None:
    mine, theirs = new_prefix(), new_prefix()
    kept = _region(tmp_path, f"{theirs}0")
    for i in range(3):
        _region(tmp_path, f"{mine}{i}")
    assert remove_regions(mine, tmp_path) == 3 and kept.exists()
    assert remove_regions(mine, tmp_path) == 0
