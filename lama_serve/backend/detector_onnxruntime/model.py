"""Triton Python-based backend `detector_onnxruntime`: a detector model run by ONNX Runtime
on CPU, for the CPU configs of watermark_text, watermark_seg and any dropped-in detector.
It follows the detector contract its config names (core.contract.DETECTOR_CONTRACTS: a
probability map, or scored boxes). Same-shape requests run as one call; a bad request
fails alone.

Config parameters: intra_op_thread_count (see backend.session); contract (default
`probability_map`).
"""

from __future__ import annotations

import json

import numpy as np
import triton_python_backend_utils as pb_utils

from lama_serve.backend.batching import detector_check, infer_batched
from lama_serve.backend.session import load_session
from lama_serve.backend.triton_io import parameter, to_responses
from lama_serve.core.contract import DETECTOR_CONTRACTS, IMAGE, PROBABILITY_MAP


class TritonPythonModel:
    """One ONNX Runtime session per model instance."""

    def initialize(self, args: dict[str, str]) -> None:
        name = parameter(json.loads(args["model_config"]), "contract", PROBABILITY_MAP.name)
        if name not in DETECTOR_CONTRACTS:
            raise RuntimeError(f"unknown detector contract {name!r}: set `contract` to one of {[*DETECTOR_CONTRACTS]}")
        self._contract = DETECTOR_CONTRACTS[name]
        self._outputs = [spec.name for spec in self._contract.outputs]
        self._check = detector_check(self._contract)
        self._session = load_session(args, self._contract.inputs, self._contract.outputs)

    def _run(self, images: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        outputs = self._session.run(self._outputs, {IMAGE.name: images})
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def execute(self, requests: list) -> list:
        """One response per request, in order; failures become error responses."""
        inputs = [(pb_utils.get_input_tensor_by_name(r, IMAGE.name).as_numpy(),) for r in requests]
        return to_responses(infer_batched(inputs, self._run, self._check), self._outputs, pb_utils)
