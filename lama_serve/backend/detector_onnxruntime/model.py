"""Triton Python-based backend `detector_onnxruntime`: a probability-map detector
(core.contract.PROBABILITY_MAP: uint8 image in, probability map out) run by ONNX Runtime on
CPU, for the CPU configs of watermark_text, watermark_seg and any dropped-in detector that
follows the same contract. Same-shape requests run as one call; a bad request fails alone.

Config parameters: intra_op_thread_count (see backend.session).
"""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils

from lama_serve.backend.batching import infer_batched, validate_probability_map
from lama_serve.backend.session import load_session
from lama_serve.backend.triton_io import to_responses
from lama_serve.core.contract import PROBABILITY_MAP

(IMAGE,), (PROBABILITY,) = PROBABILITY_MAP.inputs, PROBABILITY_MAP.outputs


class TritonPythonModel:
    """One ONNX Runtime session per model instance."""

    def initialize(self, args: dict[str, str]) -> None:
        self._session = load_session(args, PROBABILITY_MAP.inputs, PROBABILITY_MAP.outputs)

    def _run(self, images: np.ndarray) -> np.ndarray:
        (output,) = self._session.run([PROBABILITY.name], {IMAGE.name: images})
        return output

    def execute(self, requests: list) -> list:
        """One response per request, in order; failures become error responses."""
        inputs = [(pb_utils.get_input_tensor_by_name(r, IMAGE.name).as_numpy(),) for r in requests]
        results = infer_batched(inputs, self._run, validate_probability_map)
        return to_responses(results, PROBABILITY.name, pb_utils)
