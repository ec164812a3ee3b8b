"""`lama-serve weights inspect`: what a checkpoint file holds, before an export trusts it.

Why: the loader is tested on files our tests create; this is how a user checks a real
download (format, keys, parameters, digests, which generator it loads as) in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lama_serve.export.arch import ARCHS
from lama_serve.export.checkpoint import (
    build_generator,
    generator_prefix,
    generator_weights,
    read_state_dict,
)
from lama_serve.export.errors import CheckpointError
from lama_serve.export.weights import MODELS, file_digests

# BatchNorm statistics and counters: in the state_dict, but not trained parameters.
_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


@dataclass(frozen=True)
class CheckpointSummary:
    path: Path
    format: str  # "torchscript" or "lightning"
    size: int
    md5: str
    sha256: str
    keys: int  # tensors in the file, generator or not
    generator_prefix: str | None  # None: no generator found
    generator_keys: int
    generator_parameters: int  # trainable elements (big-lama: 50,975,875)
    loads_as: str | None  # the arch whose generator takes every key and shape
    problem: str | None  # why it does not load as big-lama, when it does not
    known_as: str | None  # the model-table entry whose digest it matches

    def lines(self) -> list[str]:
        prefix = "(none)" if self.generator_prefix == "" else repr(self.generator_prefix)
        rows = [
            f"file        {self.path} ({self.size:,} bytes)",
            f"format      {self.format}",
            f"keys        {self.keys} tensors",
            f"generator   {self.generator_keys} keys under prefix {prefix}, {self.generator_parameters:,} parameters"
            if self.generator_prefix is not None
            else "generator   not found",
            f"loads as    {self.loads_as or 'nothing: see below'}",
            f"md5         {self.md5}",
            f"sha256      {self.sha256}",
            f"release     {self.known_as or 'unknown file (digests match no model-table entry)'}",
        ]
        return rows + ([f"problem     {self.problem}"] if self.problem else [])


def summarize(path: Path, trust: bool = False) -> CheckpointSummary:
    """Read `path` (raises CheckpointError when unreadable) and describe it."""
    state, fmt = read_state_dict(path, trust)
    size, md5, sha256 = file_digests(path)
    prefix, weights, loads_as, problem = None, {}, None, None
    try:
        prefix = generator_prefix(state)
        weights = generator_weights(state)
        loads_as, problem = _loads_as(weights)
    except CheckpointError as error:
        problem = str(error)
    known = [m.name for m in MODELS.values() if sha256 == m.sha256 or md5 == m.md5]
    return CheckpointSummary(
        path,
        fmt,
        size,
        md5,
        sha256,
        len(state),
        prefix,
        len(weights),
        sum(v.numel() for k, v in weights.items() if not k.endswith(_BUFFER_SUFFIXES)),
        loads_as,
        problem,
        known[0] if known else None,
    )


def _loads_as(weights: dict) -> tuple[str | None, str | None]:
    """(arch, None) for the first arch that takes every key and shape, else (None, big-lama's error)."""
    errors = {}
    for arch in ARCHS.values():
        try:
            build_generator(arch, weights)
            return arch.name, None
        except CheckpointError as error:
            errors[arch.name] = str(error)
    return None, errors["big-lama"]
