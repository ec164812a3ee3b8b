"""Is a freshly loaded version fit for traffic? Golden inputs through Triton, checked.

The golden pairs are generated here, deterministically, so no binary fixture can drift:
a smooth gradient with a high-contrast "watermark" drawn exactly where the mask is white.
Any inpainting model, trained or random, must change that region; a model that echoes its
input, blanks its output, resizes, or breaks the untouched pixels is rejected. Sizes are
non-square to catch swapped axes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lama_serve.core.contract import INPUTS, OUTPUTS, SPATIAL_MULTIPLE

GOLDEN_SIZES = ((64, 96), (48, 40))  # (H, W), multiples of SPATIAL_MULTIPLE
# Mean absolute change (gray levels) the masked region must show at least.
MIN_MASKED_CHANGE = 8.0

Infer = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SmokeReport:
    passed: bool
    reasons: tuple[str, ...] = ()
    latencies_s: tuple[float, ...] = ()
    masked_change: tuple[float, ...] = ()

    def figures(self) -> dict[str, Any]:
        """What the history records about the check."""
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "max_latency_s": round(max(self.latencies_s, default=0.0), 4),
            "masked_change": [round(c, 2) for c in self.masked_change],
        }


def golden_pair(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Image [H, W, 3] and mask [H, W, 1] (uint8) with a checkerboard mark under the hole."""
    if height % SPATIAL_MULTIPLE or width % SPATIAL_MULTIPLE:
        raise ValueError(f"golden sizes must be multiples of {SPATIAL_MULTIPLE}")
    rows, cols = np.mgrid[0:height, 0:width]
    image = np.stack([rows * 255 // (height - 1), cols * 255 // (width - 1), np.full_like(rows, 128)], axis=-1).astype(
        np.uint8
    )
    mask = np.zeros((height, width, 1), np.uint8)
    top, left = height // 4, width // 4
    hole = (slice(top, height - top), slice(left, width - left))
    mask[hole] = 255
    checker = ((rows[hole] // 4 + cols[hole] // 4) % 2 * 255).astype(np.uint8)
    image[hole] = checker[..., None]
    return image, mask


def smoke_check(infer: Infer, *, max_latency_s: float) -> SmokeReport:
    """Run every golden pair through `infer`; collect every reason it is unfit, not just one."""
    reasons: list[str] = []
    latencies: list[float] = []
    changes: list[float] = []
    for height, width in GOLDEN_SIZES:
        image, mask = golden_pair(height, width)
        label = f"{height}x{width}"
        started = time.perf_counter()
        try:
            output = np.asarray(infer(image, mask))
        except Exception as error:
            reasons.append(f"{label}: inference failed: {error}")
            continue
        latencies.append(time.perf_counter() - started)
        if output.shape != image.shape or output.dtype != np.uint8:
            reasons.append(
                f"{label}: output is {output.dtype} {list(output.shape)}, expected uint8 {list(image.shape)}"
            )
            continue
        keep = mask[..., 0] == 0
        if not np.array_equal(output[keep], image[keep]):
            moved = int(np.count_nonzero(np.any(output[keep] != image[keep], axis=-1)))
            reasons.append(f"{label}: {moved} unmasked pixels changed (must stay identical)")
        change = float(np.abs(output[~keep].astype(np.int16) - image[~keep]).mean())
        changes.append(change)
        if change < MIN_MASKED_CHANGE:
            reasons.append(
                f"{label}: masked region barely changed (mean {change:.2f} < "
                f"{MIN_MASKED_CHANGE} gray levels): the model does not inpaint"
            )
    if latencies and max(latencies) > max_latency_s:
        reasons.append(
            f"slowest golden call took {max(latencies):.2f} s > {max_latency_s:g} s (ROLLOUT_SMOKE_MAX_LATENCY_S)"
        )
    return SmokeReport(not reasons, tuple(reasons), tuple(latencies), tuple(changes))


def preflight(onnx_path: Path) -> list[str]:
    """Problems with the ONNX file found without loading it into Triton (empty = none).

    A version that fails to load leaves Triton's server-level readiness false until it
    restarts, so garbage files and contract mismatches are caught here first.
    """
    import onnx

    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as error:
        return [f"{onnx_path} is not a readable ONNX model: {error}"]
    found = ({i.name for i in model.graph.input}, {o.name for o in model.graph.output})
    wanted = ({t.name for t in INPUTS}, {t.name for t in OUTPUTS})
    if found != wanted:
        return [
            (
                f"{onnx_path} has inputs/outputs {sorted(found[0])}/{sorted(found[1])}, the "
                f"contract wants {sorted(wanted[0])}/{sorted(wanted[1])} (export/contract.py)"
            )
        ]
    return []
