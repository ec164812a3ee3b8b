"""OpenVINO on CPU: one compiled dynamic-shape model, tuned for single-request latency.

Runs inside Triton's stub (imports only numpy and openvino). bf16 uses the CPU's AMX /
AVX-512 BF16 units for the convolutions (3-4x f32 on big-lama); the precision is always set
explicitly because OpenVINO's own default on such CPUs is already bf16.

Keeping the Fourier units' DFT MatMuls in f32 inside the bf16 model was tried twice (issue
16): `DisablePrecisionConversion` (set through IR, where it does load as the attribute, with
`dynamic:f16` and `dynamic:bf16`), `precise`, `disable_fp16_compression` and `keep_fp32` on
every MatMul left them bf16 in OpenVINO 2026.4.1's CPU plugin (outputs bit-identical, tiny and
big-lama; big-lama bf16 vs f32 on the gate inputs: mean 1.34, max 11 levels either way). Nor
would it help: in PyTorch (CPU autocast bf16, big-lama, the gate's inputs) f32 DFTs inside
bf16 convolutions drift 1.32 levels mean vs 1.11 with bf16 DFT matmuls; the convolutions
carry the drift. So there is no such variant here.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import openvino as ov

from lama_serve.core.contract import IMAGE, INPAINTED, MASK


def _trim_heap() -> None:
    """Hand glibc's free heap pages back to the OS too (the call's inputs and temporaries);
    without it ~30% of a large call's growth stayed resident (316 of 1066 MB, tiny model, 3072 px)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: release_memory alone
        pass


class OpenVINORuntime:
    """`runtime(images, masks) -> inpainted` through one compiled model reused for all shapes.

    A failed call (e.g. a REFLECT pad wider than its input) poisons the shape state the
    read ov.Model shares with everything compiled from it: every later call at a shape seen
    before fails, through a fresh infer request, a recompile or a clone alike (OpenVINO
    2026.4). So any failure re-reads and recompiles the model before re-raising: the failure
    stays with its request.
    """

    def __init__(self, path: Path, precision: str, threads: int, release_above_pixels: int = 0) -> None:
        """`release_above_pixels`: after a call on more pixels (all images), give the
        intermediate buffers back to the OS (`CompiledModel.release_memory`); 0: never. A
        large call otherwise leaves its peak (GBs for big-lama) held by the idle stub."""
        self._core = ov.Core()
        self._path = path
        self.precision = precision
        self._release_above_pixels = release_above_pixels
        self._config = {
            "INFERENCE_PRECISION_HINT": precision,
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": str(threads),
        }
        self._compile()
        self.io_names = (
            {p.get_any_name() for p in self._compiled.inputs},
            {p.get_any_name() for p in self._compiled.outputs},
        )

    def _compile(self) -> None:
        self._compiled = self._core.compile_model(self._core.read_model(str(self._path)), "CPU", self._config)
        self._request = self._compiled.create_infer_request()

    def __call__(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        try:
            result = self._request.infer({IMAGE.name: images, MASK.name: masks})
        except Exception:
            self._compile()
            raise
        # copied: the request reuses its output buffer on the next call (and release frees it)
        output = np.array(result[INPAINTED.name], copy=True)
        if 0 < self._release_above_pixels < images[..., 0].size:
            self._compiled.release_memory()
            _trim_heap()
        return output
