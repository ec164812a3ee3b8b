"""Export-time bf16 accuracy check: the load-time gate, run once right after export.

The Triton CPU backend gates bf16 at every load (backend/cpu_runtime.py); running the same
gate (`core.accuracy.gate_difference`, same inputs, same bound) after export says at export
time, in export.json and the summary, whether this model will be served in bf16 on a host
like this one, with the figures. A host without bf16 units records "skipped" and why.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from lama_serve.core.accuracy import GATE_SHAPES, MAX_ABS_LEVELS, MAX_MEAN_LEVELS, Inpaint, gate_difference
from lama_serve.core.contract import IMAGE, INPAINTED, MASK
from lama_serve.core.cpu_precision import BF16, CPUINFO, F32, host_precision

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


def _openvino(path: Path, precision: str) -> Inpaint:
    """The exported file in OpenVINO on CPU at `precision` (numerics only: no latency tuning)."""
    import openvino as ov

    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": precision})
    return lambda images, masks: np.asarray(compiled({IMAGE.name: images, MASK.name: masks})[INPAINTED.name])


def check_bf16(onnx_path: Path, cpuinfo: Path = CPUINFO) -> dict[str, object]:
    """export.json's `bf16_accuracy`: status passed|failed|skipped, reason, and the figures."""
    record: dict[str, object] = {
        "bound_mean_levels": MAX_MEAN_LEVELS,
        "bound_max_levels": MAX_ABS_LEVELS,
        "inputs": f"core.accuracy.gate_inputs {[list(s) for s in GATE_SHAPES]}, OpenVINO bf16 vs f32",
    }
    precision, flags = host_precision(cpuinfo)
    if precision != BF16:
        return {
            "status": SKIPPED,
            "reason": "this CPU has no bf16 units (amx_bf16, avx512_bf16); the "
            "serving host's Triton backend still runs the gate at load",
            **record,
        }
    try:
        import openvino  # noqa: F401
    except ImportError:
        return {"status": SKIPPED, "reason": "openvino is not installed (pip install openvino)", **record}
    started = time.perf_counter()
    difference = gate_difference(_openvino(onnx_path, F32), _openvino(onnx_path, BF16))
    failure = difference.failure()
    return {
        "status": FAILED if failure else PASSED,
        "reason": failure or f"within the bound on a CPU with {', '.join(sorted(flags))}",
        "mean_levels": round(difference.mean, 3),
        "max_levels": difference.max,
        "seconds": round(time.perf_counter() - started, 2),
        **record,
    }


def summary_line(record: dict[str, object]) -> str:
    """One line for `lama-serve export`'s printed summary."""
    if record["status"] == SKIPPED:
        return f"  bf16 accuracy check skipped: {record['reason']}"
    verdict = "passed" if record["status"] == PASSED else "FAILED (Triton will serve f32)"
    return (
        f"  bf16 accuracy check {verdict}: inpainted region mean {record['mean_levels']:.2f} "
        f"(bound {record['bound_mean_levels']}), max {record['max_levels']} levels "
        f"(bound {record['bound_max_levels']}) vs f32; {record['reason']}"
    )
