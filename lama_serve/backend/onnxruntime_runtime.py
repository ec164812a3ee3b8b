"""ONNX Runtime on CPU (the `runtime: onnxruntime` choice); f32 only, its CPU provider has no
bf16 convolutions. Runs inside Triton's stub (imports only numpy and onnxruntime)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from lama_serve.core.contract import IMAGE, INPAINTED, MASK


class OnnxRuntime:
    """`runtime(images, masks) -> inpainted` through one CPU session."""

    precision = "f32"

    def __init__(self, path: Path, threads: int) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.io_names = ({i.name for i in self._session.get_inputs()}, {o.name for o in self._session.get_outputs()})

    def __call__(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        (output,) = self._session.run([INPAINTED.name], {IMAGE.name: images, MASK.name: masks})
        return output
