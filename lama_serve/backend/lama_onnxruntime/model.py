"""Triton Python-based backend `lama_onnxruntime`: ONNX Runtime on CPU inside Triton.

The Triton bundled in the PyTriton wheel has no onnxruntime backend, so on CPU hosts this
backend runs the same `model.onnx` the GPU config serves. Triton's dynamic batcher still
queues and batches; this file only turns its request list into one ONNX Runtime call per
same-shape group (see backend.batching) and answers each request on its own.

Config parameters (configs/cpu.pbtxt):
  intra_op_thread_count: ONNX Runtime threads per instance; "0"/absent = the host's cores.
"""
from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils

from lama_serve.backend.batching import infer_batched
from lama_serve.backend.session import load_session, to_responses
from lama_serve.core.contract import IMAGE, INPAINTED, INPUTS, MASK, OUTPUTS


class TritonPythonModel:
    """One ONNX Runtime session per model instance."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load the version's ONNX file; raising here fails the load with this message."""
        self._session = load_session(args, INPUTS, OUTPUTS)

    def _run(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        (output,) = self._session.run([INPAINTED.name], {IMAGE.name: images, MASK.name: masks})
        return output

    def execute(self, requests: list) -> list:
        """One response per request, in order; failures become error responses."""
        inputs = [
            (pb_utils.get_input_tensor_by_name(r, IMAGE.name).as_numpy(),
             pb_utils.get_input_tensor_by_name(r, MASK.name).as_numpy())
            for r in requests
        ]
        return to_responses(infer_batched(inputs, self._run), INPAINTED.name, pb_utils)
