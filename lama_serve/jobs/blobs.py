"""Input and result bytes of jobs as files, written atomically (temp file + rename)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
RESULT = "result"


def check_name(name: str) -> str:
    """Input names become file names: refuse anything that could leave the job's folder."""
    if not _NAME.match(name) or name in (".", ".."):
        raise ValueError(f"input name {name!r} must match {_NAME.pattern}")
    return name


def write_atomic(path: Path, data: bytes) -> None:
    """A reader never sees a half-written file, even if the process dies mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class BlobDir:
    """`root/<job id>/in/<name>` and `root/<job id>/result`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write_inputs(self, job_id: str, inputs: dict[str, bytes]) -> None:
        for name, data in inputs.items():
            write_atomic(self.root / job_id / "in" / check_name(name), data)

    def read_inputs(self, job_id: str) -> dict[str, bytes]:
        folder = self.root / job_id / "in"
        if not folder.is_dir():
            return {}
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}

    def write_result(self, job_id: str, data: bytes) -> None:
        write_atomic(self.root / job_id / RESULT, data)

    def read_result(self, job_id: str) -> bytes | None:
        try:
            return (self.root / job_id / RESULT).read_bytes()
        except FileNotFoundError:
            return None

    def delete_result(self, job_id: str) -> None:
        (self.root / check_name(job_id) / RESULT).unlink(missing_ok=True)

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.root / check_name(job_id), ignore_errors=True)
