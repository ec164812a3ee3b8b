"""Load the CPU runtime the model config asks for, with the precision this host earns.

`load_runtime` resolves `precision: auto` from the CPU flags, gates bf16 on accuracy
(core.accuracy: bf16 vs f32 on fixed inputs; a failed gate falls back to f32 loudly) and
warms the bucket shapes: a new H/W costs OpenVINO's CPU plugin 30-50% extra on its first
call (big-lama bf16 on 2 cores: 512 px 1.7 s vs 1.1 s, 1024 px 5.4 s vs 4.3 s).
Runs inside Triton's stub: imports only core, numpy and the chosen runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from lama_serve.core.accuracy import gate_difference
from lama_serve.core.cpu_precision import BF16, F32, PRECISIONS, host_precision

RUNTIMES = ("openvino", "onnxruntime")
Log = Callable[[str], None]


class Runtime(Protocol):
    precision: str
    io_names: tuple[set[str], set[str]]

    def __call__(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray: ...


class BackendConfigError(ValueError):
    """A `parameters` value of the model config is invalid."""


@dataclass(frozen=True)
class Choice:
    """What runs, and why: reported in the log and as a Triton metric."""

    runtime: str
    precision: str
    reason: str


def _open(runtime: str, path: Path, precision: str, threads: int, release_above_pixels: int = 0) -> Runtime:
    if runtime == "onnxruntime":
        from lama_serve.backend.onnxruntime_runtime import OnnxRuntime

        return OnnxRuntime(path, threads)
    from lama_serve.backend.openvino_runtime import OpenVINORuntime

    return OpenVINORuntime(path, precision, threads, release_above_pixels)


def resolve(runtime: str, precision: str) -> tuple[str, str]:
    """(precision to try, why) for a config's `runtime` and `precision` (auto|bf16|f32)."""
    if runtime not in RUNTIMES:
        raise BackendConfigError(f"runtime '{runtime}' is unknown; use one of {RUNTIMES}")
    if precision not in (*PRECISIONS, "auto"):
        raise BackendConfigError(f"precision '{precision}' is unknown; use auto, bf16 or f32")
    if runtime == "onnxruntime":
        return F32, "ONNX Runtime's CPU provider runs f32 only"
    if precision != "auto":
        return precision, "set by the model config"
    chosen, flags = host_precision()
    return chosen, (f"CPU has {', '.join(sorted(flags))}" if flags else "CPU has no bf16 units")


def load_runtime(
    path: Path,
    runtime: str,
    precision: str,
    threads: int,
    warm_sides: Sequence[int],
    log: Log,
    release_above_pixels: int = 0,
) -> tuple[Runtime, Choice]:
    """Open, gate and warm the runtime; the returned Choice says what runs and why.
    `release_above_pixels`: OpenVINO frees its buffers after larger calls (0: never)."""
    wanted, reason = resolve(runtime, precision)
    loaded = _open(runtime, path, wanted, threads, release_above_pixels)
    if wanted == BF16:
        reference = _open(runtime, path, F32, threads)
        difference = gate_difference(reference, loaded)
        failure = difference.failure()
        if failure:
            log(f"WARNING: bf16 refused, serving f32 (slower): {failure}")
            loaded, reason = reference, f"bf16 failed the accuracy gate: {failure}"
        else:
            reason += f"; bf16 passed the accuracy gate (mean {difference.mean:.2f}, max {difference.max} levels)"
        del reference
    for side in warm_sides:
        loaded(np.zeros((1, side, side, 3), np.uint8), np.zeros((1, side, side, 1), np.uint8))
    choice = Choice(runtime, loaded.precision, reason)
    log(
        f"lama_cpu: {choice.runtime} {choice.precision} ({choice.reason}); {threads} threads; warmed {list(warm_sides)}"
    )
    return loaded, choice
