"""What every Python-based backend here does alike at Triton's edge: read a string parameter
of the model config (and the threads of one instance), and turn per-request results (see batching.infer_batched) into
responses, so that a bad request fails only its own response."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lama_serve.backend.batching import RequestError
from lama_serve.core.contract import TensorSpec


def parameter(config: dict, key: str, default: str) -> str:
    """`parameters { key: ... string_value: ... }` of a model config, or `default`."""
    return config.get("parameters", {}).get(key, {}).get("string_value", default) or default


def instance_threads(config: dict, cores: int) -> int:
    """Runtime threads of one model instance: the `threads` parameter (0/absent: `cores`)
    split evenly over the config's instances, which compute at once (a small call next to a
    heavy one) and would otherwise oversubscribe the cores."""
    total = int(parameter(config, "threads", "0")) or cores
    instances = sum(int(group.get("count", 1)) for group in config.get("instance_group", [])) or 1
    return max(1, total // instances)


def version_file(args: dict[str, str], config: dict) -> Path:
    """The ONNX file of the version Triton's `initialize(args)` is loading."""
    filename = config.get("default_model_filename") or "model.onnx"
    return Path(args["model_repository"]) / args["model_version"] / filename


def check_io(
    path: Path, found: tuple[set[str], set[str]], inputs: Iterable[TensorSpec], outputs: Iterable[TensorSpec]
) -> None:
    """Fail the load when the graph's (input, output) names are not the contract's."""
    expected = ({t.name for t in inputs}, {t.name for t in outputs})
    if found != expected:
        raise RuntimeError(
            f"{path} has inputs/outputs {found}, the contract wants {expected} "
            "(core/contract.py); re-export the model with this project's exporter."
        )


def error_response(message: str, code_name: str, pb_utils: object) -> object:
    """An error response with Triton's status code `code_name` (e.g. "INVALID_ARG")."""
    code = getattr(pb_utils.TritonError, code_name)
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message, code))


def to_responses(
    results: Iterable[np.ndarray | tuple[np.ndarray, ...] | Exception], output_names: Sequence[str], pb_utils: object
) -> list:
    """One response per result, in order: the output tensors (one array, or a tuple in
    `output_names` order), or an error for that request alone."""
    responses = []
    for result in results:
        if isinstance(result, RequestError):
            responses.append(error_response(str(result), "INVALID_ARG", pb_utils))
        elif isinstance(result, Exception):
            responses.append(error_response(f"inference failed: {result}", "INTERNAL", pb_utils))
        else:
            arrays = result if isinstance(result, tuple) else (result,)
            tensors = [pb_utils.Tensor(name, array) for name, array in zip(output_names, arrays, strict=True)]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
    return responses
