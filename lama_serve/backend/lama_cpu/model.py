"""Triton Python-based backend `lama_cpu`: the exported `model.onnx` on CPU inside Triton.

The Triton bundled in the PyTriton wheel has no OpenVINO or ONNX Runtime backend, so this
backend runs them itself (backend/cpu_runtime.py picks, gates and warms the runtime).
Triton's dynamic batcher still queues and batches; this file drops cancelled requests,
turns the rest into one call per same-shape group (backend/batching.py) and answers each
request on its own.

Config parameters (configs/cpu.pbtxt):
  runtime:     openvino (default) | onnxruntime
  precision:   auto (default: bf16 where the CPU has AMX/AVX-512 BF16, gated) | bf16 | f32
  threads:     runtime threads of all instances together ("0"/absent = the cores this process
               may use), split evenly over instance_group's count (triton_io.instance_threads)
  warm_sides:  comma-separated square sides run once at load (the gateway's tile buckets)
  release_memory_above_pixels: OpenVINO returns its buffers to the OS after a call on more
               pixels than this (all images); "0"/absent = never
The outcome is logged and exported as the Triton metric
`lama_inference_precision{runtime,precision} 1` (the config is frozen before load, so
the gate's result cannot go into the model config).
"""

from __future__ import annotations

import json
import os

import triton_python_backend_utils as pb_utils

from lama_serve.backend.batching import infer_batched
from lama_serve.backend.cancellation import CANCELLED_MESSAGE, split_cancelled
from lama_serve.backend.cpu_runtime import load_runtime
from lama_serve.backend.triton_io import (
    check_io,
    error_response,
    instance_threads,
    parameter,
    to_responses,
    version_file,
)
from lama_serve.core.contract import IMAGE, INPAINTED, INPUTS, MASK, OUTPUTS


class TritonPythonModel:
    """One runtime (one compiled model / session) per model instance."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load, gate and warm; raising here fails the load with this message."""
        config = json.loads(args["model_config"])
        path = version_file(args, config)
        threads = instance_threads(config, len(os.sched_getaffinity(0)))
        warm = [int(s) for s in parameter(config, "warm_sides", "").split(",") if s.strip()]
        try:
            self._run, choice = load_runtime(
                path,
                parameter(config, "runtime", "openvino"),
                parameter(config, "precision", "auto"),
                threads,
                warm,
                lambda line: pb_utils.Logger.log_warn(line),
                int(parameter(config, "release_memory_above_pixels", "0")),
            )
        except Exception as error:
            raise RuntimeError(
                f"cannot load ONNX model {path}: {error}. Check the runtime/precision parameters, re-export "
                "the model (`lama-serve export`) or remove the version directory."
            ) from error
        check_io(path, self._run.io_names, INPUTS, OUTPUTS)
        # both kept on self: Triton drops a metric whose Python object is collected
        self._precision_family = pb_utils.MetricFamily(
            name="lama_inference_precision",
            kind=pb_utils.MetricFamily.GAUGE,
            description="1 for the runtime and float precision this lama instance computes in",
        )
        self._precision_metric = self._precision_family.Metric(
            labels={"runtime": choice.runtime, "precision": choice.precision}
        )
        self._precision_metric.set(1)

    def execute(self, requests: list) -> list:
        """One response per request, in order; cancelled and failed ones become errors."""
        responses: list = [None] * len(requests)
        live, cancelled = split_cancelled(requests, lambda r: r.is_cancelled())
        for index in cancelled:
            responses[index] = error_response(CANCELLED_MESSAGE, "CANCELLED", pb_utils)
        inputs = [
            (
                pb_utils.get_input_tensor_by_name(requests[i], IMAGE.name).as_numpy(),
                pb_utils.get_input_tensor_by_name(requests[i], MASK.name).as_numpy(),
            )
            for i in live
        ]
        answered = to_responses(infer_batched(inputs, self._run), (INPAINTED.name,), pb_utils)
        for index, response in zip(live, answered):
            responses[index] = response
        return responses
