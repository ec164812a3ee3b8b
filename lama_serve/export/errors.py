"""Typed errors of the export steps; each message says what differed and how to fix it."""
from __future__ import annotations

from lama_serve.core.errors import LamaServeError


class ExportError(LamaServeError):
    """Base class: `lama-serve export` prints the message and exits non-zero."""


class CheckpointError(ExportError):
    """The checkpoint cannot be read or does not hold a big-lama generator."""


class CheckpointMismatchError(CheckpointError):
    """Generator keys are missing, unexpected, or have the wrong shape."""

    def __init__(self, missing: list[str], unexpected: list[str],
                 wrong_shapes: list[tuple[str, tuple[int, ...], tuple[int, ...]]], arch: str) -> None:
        self.missing, self.unexpected, self.wrong_shapes = missing, unexpected, wrong_shapes
        parts = [f"checkpoint does not match the {arch!r} generator:"]
        if missing:
            parts.append(f"  {len(missing)} missing key(s): {_head(missing)}")
        if unexpected:
            parts.append(f"  {len(unexpected)} unexpected key(s): {_head(unexpected)}")
        for key, got, want in wrong_shapes[:5]:
            parts.append(f"  {key}: checkpoint has {list(got)}, model expects {list(want)}")
        parts.append("  Is it a big-lama checkpoint (best.ckpt or IOPaint's big-lama.pt) and the "
                     "right --arch?")
        super().__init__("\n".join(parts))


class ParityError(ExportError):
    """The exported graph disagrees with PyTorch eager beyond the tolerance."""


def _head(keys: list[str], n: int = 5) -> str:
    return ", ".join(keys[:n]) + (f", ... (+{len(keys) - n} more)" if len(keys) > n else "")
