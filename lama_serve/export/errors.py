"""Typed errors of the export steps; each message says what differed and how to fix it."""

from __future__ import annotations

from lama_serve.core.errors import LamaServeError


class ExportError(LamaServeError):
    """Base class: `lama-serve export` prints the message and exits non-zero."""


class CheckpointError(ExportError):
    """The checkpoint cannot be read or does not hold a big-lama generator."""


class CheckpointMismatchError(CheckpointError):
    """Generator keys are missing, unexpected, or have the wrong shape."""

    def __init__(
        self,
        missing: list[str],
        unexpected: list[str],
        wrong_shapes: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
        arch: str,
    ) -> None:
        self.missing, self.unexpected, self.wrong_shapes = missing, unexpected, wrong_shapes
        parts = [f"checkpoint does not match the {arch!r} generator:"]
        if missing:
            parts.append(f"  {len(missing)} missing key(s): {_head(missing)}")
        if unexpected:
            parts.append(f"  {len(unexpected)} unexpected key(s): {_head(unexpected)}")
        for key, got, want in wrong_shapes[:5]:
            parts.append(f"  {key}: checkpoint has {list(got)}, model expects {list(want)}")
        parts.append("  Is it a big-lama checkpoint (best.ckpt or IOPaint's big-lama.pt) and the right --arch?")
        super().__init__("\n".join(parts))


class WeightsError(ExportError):
    """The released weights cannot be fetched or are not the expected file."""


class WeightsDownloadError(WeightsError):
    """The download failed or stopped early (offline, blocked, proxy, truncated)."""


class DigestMismatchError(WeightsError):
    """The bytes are not the expected file: size or a digest differs."""

    def __init__(self, source: str, what: str, expected: str, actual: str) -> None:
        self.what, self.expected, self.actual = what, expected, actual
        super().__init__(
            f"{source}: {what} mismatch: expected {expected}, got {actual}. The file was deleted. "
            "A proxy or captive portal may have answered instead of the server, or the mirror "
            "(LAMA_MODEL_URL) holds another file: set LAMA_MODEL_MD5/LAMA_MODEL_SHA256 only "
            "if you trust that file."
        )


class ParityError(ExportError):
    """The exported graph disagrees with PyTorch eager beyond the tolerance."""


def _head(keys: list[str], n: int = 5) -> str:
    return ", ".join(keys[:n]) + (f", ... (+{len(keys) - n} more)" if len(keys) > n else "")


class DetectorExportError(ExportError):
    """A detector model could not be laid out; the message says how to fix it."""


class TextDetectorSourceError(DetectorExportError):
    """The PP-OCR text-detection network could not be found in the installed wheel."""
