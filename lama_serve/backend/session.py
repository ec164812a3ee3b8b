"""Open a version's ONNX file in ONNX Runtime with the configured threads and check its
tensor names against the contract: what every ONNX Runtime Python-based backend does alike."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

import onnxruntime as ort

from lama_serve.backend.triton_io import check_io, parameter, version_file
from lama_serve.core.contract import TensorSpec


def load_session(
    args: dict[str, str], inputs: Iterable[TensorSpec], outputs: Iterable[TensorSpec]
) -> ort.InferenceSession:
    """The session of Triton's `initialize(args)`; raising fails the load with this message.

    Config parameter `intra_op_thread_count`: ONNX Runtime threads; "0"/absent = host cores.
    """
    config = json.loads(args["model_config"])
    path = version_file(args, config)
    threads = int(parameter(config, "intra_op_thread_count", "0")) or len(os.sched_getaffinity(0))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:
        raise RuntimeError(
            f"cannot load ONNX model {path}: {error}. Re-export it (`lama-serve export`, "
            "`lama-serve detector export`) or remove the version directory."
        ) from error
    check_io(path, ({i.name for i in session.get_inputs()}, {o.name for o in session.get_outputs()}), inputs, outputs)
    return session
