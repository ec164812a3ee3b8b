"""triton.published: `up`'s file is owner-only while it runs, gone after, and a stale or
loosely readable one is not trusted."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lama_serve.triton.published import PublishedFileError, PublishedTriton, published, read_published


def _triton(pid: int) -> PublishedTriton:
    return PublishedTriton(url="127.0.0.1:8123", admin_key="k" * 32, rollout_state_path="/tmp/r.json", pid=pid)


def test_owner_only_while_published_and_removed_after(tmp_path: Path) -> None:
    path = tmp_path / "var" / "up.json"
    with published(path, _triton(os.getpid())):
        assert path.stat().st_mode & 0o777 == 0o600
        assert read_published(path) == _triton(os.getpid())
        assert [p.name for p in path.parent.iterdir()] == ["up.json"]  # no partial file left
    assert not path.exists() and read_published(path) is None


def test_file_of_a_dead_up_is_ignored(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid names no process now
    with published(tmp_path / "up.json", _triton(dead.pid)):
        assert read_published(tmp_path / "up.json") is None


@pytest.mark.parametrize("mode, content", [(0o644, None), (0o600, "{not json")])
def test_readable_by_others_or_garbled_is_refused(tmp_path: Path, mode: int, content: str | None) -> None:
    path = tmp_path / "up.json"
    with published(path, _triton(os.getpid())):
        if content is not None:
            path.write_text(content)
        path.chmod(mode)
        with pytest.raises(PublishedFileError, match="delete it"):
            read_published(path)
