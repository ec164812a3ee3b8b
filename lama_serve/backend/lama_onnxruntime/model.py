"""Triton Python-based backend `lama_onnxruntime`: ONNX Runtime on CPU inside Triton.

The Triton bundled in the PyTriton wheel has no onnxruntime backend, so on CPU hosts this
backend runs the same `model.onnx` the GPU config serves. Triton's dynamic batcher still
queues and batches; this file only turns its request list into one ONNX Runtime call per
same-shape group (see serving.batching) and answers each request on its own.

Config parameters (configs/cpu.pbtxt):
  intra_op_thread_count: ONNX Runtime threads per instance; "0"/absent = the host's cores.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

from lama_serve.backend.batching import RequestError, infer_batched
from lama_serve.core.contract import IMAGE, INPAINTED, INPUTS, MASK, OUTPUTS


def _parameter(config: dict, key: str, default: str) -> str:
    return config.get("parameters", {}).get(key, {}).get("string_value", default) or default


class TritonPythonModel:
    """One ONNX Runtime session per model instance."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load the version's ONNX file; raising here fails the load with this message."""
        config = json.loads(args["model_config"])
        filename = config.get("default_model_filename") or "model.onnx"
        path = Path(args["model_repository"]) / args["model_version"] / filename
        threads = int(_parameter(config, "intra_op_thread_count", "0")) or len(os.sched_getaffinity(0))

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise RuntimeError(
                f"cannot load ONNX model {path}: {error}. Re-export it "
                "(`lama-serve export`) or remove the version directory."
            ) from error

        expected = ({t.name for t in INPUTS}, {t.name for t in OUTPUTS})
        found = ({i.name for i in self._session.get_inputs()},
                 {o.name for o in self._session.get_outputs()})
        if found != expected:
            raise RuntimeError(
                f"{path} has inputs/outputs {found}, the contract wants {expected} "
                "(export/contract.py); re-export the model with this project's exporter."
            )

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
        responses = []
        for result in infer_batched(inputs, self._run):
            if isinstance(result, RequestError):
                error = pb_utils.TritonError(str(result), pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
            elif isinstance(result, Exception):
                error = pb_utils.TritonError(f"inference failed: {result}", pb_utils.TritonError.INTERNAL)
                responses.append(pb_utils.InferenceResponse(error=error))
            else:
                responses.append(pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor(INPAINTED.name, result)]))
        return responses
