"""The released LaMa weights: a model table, a verified download and a cache.

Why: `lama-serve up` must serve real inpaintings on first start, as IOPaint does, without
trusting the network: every byte is checked against pinned digests before an export reads
it, and concurrent starts never see a half-written file (a unique temporary file in the
cache folder, renamed with os.replace, under a lock file). No torch here: the fetch runs
before anything heavy is imported. urllib honours HTTP(S)_PROXY/NO_PROXY from the
environment and reads file:// URLs (air-gapped copies).
"""

from __future__ import annotations

import fcntl
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from lama_serve.core.settings.model import ModelSettings
from lama_serve.export.errors import (
    DigestMismatchError,
    WeightsDownloadError,
    WeightsError,
)

Progress = Callable[[str], None]
CHUNK_BYTES = 1 << 20
SOCKET_TIMEOUT_S = 30.0  # per connect/read, not for the whole 200 MB
HOW_TO_FIX = (
    "Check the network or proxy (HTTPS_PROXY), set LAMA_MODEL_URL to a mirror or a "
    "file:// copy, or download the file yourself and set LAMA_CHECKPOINT."
)


@dataclass(frozen=True)
class ModelFile:
    """One downloadable checkpoint; `size`/digests None where unknown (at least one digest is set)."""

    name: str
    url: str
    size: int | None
    md5: str | None
    sha256: str | None

    @property
    def filename(self) -> str:
        return f"{self.name}.pt"


# IOPaint's TorchScript trace of advimman/lama's big-lama (Apache-2.0 weights). The MD5 is
# IOPaint's pinned LAMA_MODEL_MD5; the SHA-256 is the one published for that same file.
MODELS: dict[str, ModelFile] = {
    "big-lama": ModelFile(
        "big-lama",
        "https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt",
        205_669_692,
        "e3aa4aaa15225a33ec84f9f4bc47e500",
        "344c77bbcb158f17dd143070d1e789f38a66c04202311ae3a258ef66667a9ea9",
    ),
}


@dataclass(frozen=True)
class FetchedWeights:
    """A verified file in the cache, as recorded in export.json."""

    model: str
    path: Path
    size: int
    md5: str
    sha256: str
    reused: bool  # found in the cache (and re-verified) rather than downloaded


def model_file(settings: ModelSettings, name: str = "big-lama") -> ModelFile:
    """The table's entry with LAMA_MODEL_* applied: a URL alone is a mirror of the same file;
    a digest names another file, whose size is then unknown."""
    if name not in MODELS:
        raise WeightsError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    entry = MODELS[name]
    if settings.lama_model_md5 or settings.lama_model_sha256:
        entry = replace(entry, size=None, md5=settings.lama_model_md5, sha256=settings.lama_model_sha256)
    return replace(entry, url=settings.lama_model_url) if settings.lama_model_url else entry


def fetch(model: ModelFile, cache_dir: Path, progress: Progress = lambda _: None) -> FetchedWeights:
    """The verified file `cache_dir/<name>.pt`: reused when its digests match, else downloaded."""
    target = Path(cache_dir) / model.filename
    with _locked(target):
        if target.is_file():
            try:
                return _verified(model, target, file_digests(target), reused=True)
            except DigestMismatchError as error:
                progress(f"cached {target} is not the expected file ({error.what}): downloading again")
                target.unlink()
        progress(f"downloading {model.name} from {model.url}")
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                digests = _download(model, out, progress)
            fetched = _verified(model, target, digests, reused=False)
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the file from other users
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
    progress(f"verified {target} (sha256 {fetched.sha256})")
    return fetched


@contextmanager
def _locked(target: Path) -> Iterator[None]:
    """One fetch per file at a time: a second start waits, then reuses the first's download."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = (target.parent / f".{target.name}.lock").open("a")
    except OSError as error:
        raise WeightsError(
            f"cannot write the weights cache {target.parent}: {error}. Set WEIGHTS_CACHE_DIR to a writable folder."
        ) from error
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _hashers() -> tuple[hashlib._Hash, hashlib._Hash]:
    return hashlib.md5(usedforsecurity=False), hashlib.sha256()


def file_digests(path: Path) -> tuple[int, str, str]:
    md5, sha256 = _hashers()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            md5.update(chunk)
            sha256.update(chunk)
    return path.stat().st_size, md5.hexdigest(), sha256.hexdigest()


def _download(model: ModelFile, out: BinaryIO, progress: Progress) -> tuple[int, str, str]:
    """Stream the URL into `out`, hashing on the way; a short read is an error, not a file."""
    md5, sha256 = _hashers()
    done, length = 0, None
    request = urllib.request.Request(model.url, headers={"User-Agent": "lama-serve"})
    try:
        with urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length else model.size
            reported = 0
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                md5.update(chunk)
                sha256.update(chunk)
                done += len(chunk)
                reported = _report(progress, model.name, done, total, reported)
    except (OSError, http.client.HTTPException, ValueError) as error:  # URLError is an OSError
        raise WeightsDownloadError(f"cannot download {model.name} from {model.url}: {error}. {HOW_TO_FIX}") from error
    if length is not None and done != int(length):
        raise WeightsDownloadError(
            f"download of {model.url} stopped after {done} of {length} "
            f"bytes; nothing was kept. Run it again. {HOW_TO_FIX}"
        )
    return done, md5.hexdigest(), sha256.hexdigest()


def _report(progress: Progress, name: str, done: int, total: int | None, reported: int) -> int:
    """Log every tenth of the file (every 20 MB when its size is unknown); returns the mark."""
    step = total // 10 if total else 20 << 20
    if done - reported < max(step, 1) and done != total:
        return reported
    of_total = f" / {total / 1e6:.1f} MB ({100 * done // total}%)" if total else " MB"
    progress(f"{name}: {done / 1e6:.1f}{of_total}")
    return done


def _verified(model: ModelFile, path: Path, digests: tuple[int, str, str], *, reused: bool) -> FetchedWeights:
    """Raise DigestMismatchError on the first of size, MD5, SHA-256 that differs."""
    size, md5, sha256 = digests
    source = str(path) if reused else model.url
    for what, expected, actual in (
        ("size", model.size, size),
        ("MD5", model.md5, md5),
        ("SHA-256", model.sha256, sha256),
    ):
        if expected is not None and expected != actual:
            raise DigestMismatchError(source, what, str(expected), str(actual))
    return FetchedWeights(model.name, path, size, md5, sha256, reused)
