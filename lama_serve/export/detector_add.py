"""`lama-serve detector add`: an operator's own ONNX detector into the model repository.

A model joins detection when it follows a detector contract (core.contract: a probability
map, or scored boxes). Steps, each checkable alone: `contract_of` (the graph's declared
inputs and outputs name one contract), `check_runs` (one call on a small image returns what
that contract promises), `detector_configs` (Triton's GPU and CPU configs, written from the
contract) and `add_detector` (the files laid out). `lama-serve up` loads a model of the
repository that DETECTORS names; the gateway reads its contract from Triton.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np

from lama_serve.core.contract import (
    DETECTOR_CONTRACTS,
    IMAGE,
    MAX_BATCH_SIZE,
    MODEL_NAME,
    DetectorContract,
    TensorSpec,
)
from lama_serve.core.repository import MODEL_FILENAME, ModelRepository
from lama_serve.export.errors import ExportError

CHECK_SIDE = 64  # the test call's image side (a multiple of every contract's spatial_multiple)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
RESERVED = (MODEL_NAME, "templates", "tiled")  # the inpainting model and the gateway's own detectors


class DetectorModelError(ExportError):
    """The ONNX file is not a detector this service can call; the message says what differs."""


def contract_of(onnx_file: Path) -> DetectorContract:
    """The contract whose inputs and outputs (names, dtypes, ranks) the graph declares."""
    import onnx

    try:
        graph = onnx.load(str(onnx_file), load_external_data=False).graph
    except Exception as error:  # any reason onnx cannot read it, in one line
        raise DetectorModelError(f"cannot read {onnx_file} as ONNX: {error}") from error
    found = {_signature(value) for value in graph.input if value.name not in {i.name for i in graph.initializer}}
    outputs = {_signature(value) for value in graph.output}
    for contract in DETECTOR_CONTRACTS.values():
        if found == {_expected(spec) for spec in contract.inputs} and outputs == {
            _expected(s) for s in contract.outputs
        }:
            return contract
    wanted = "; or ".join(
        f"inputs {sorted(map(_expected, c.inputs))}, outputs {sorted(map(_expected, c.outputs))}"
        for c in DETECTOR_CONTRACTS.values()
    )
    raise DetectorModelError(
        f"{onnx_file} has inputs {sorted(found)} and outputs {sorted(outputs)} (name, dtype, rank); a detector "
        f"has {wanted} (core/contract.py, docs/detection.md: rename the tensors or cast them when exporting)"
    )


def _signature(value: object) -> tuple[str, str, int]:
    from onnx import TensorProto

    tensor = value.type.tensor_type  # type: ignore[attr-defined]
    return value.name, TensorProto.DataType.Name(tensor.elem_type), len(tensor.shape.dim)  # type: ignore[attr-defined]


def _expected(spec: TensorSpec) -> tuple[str, str, int]:
    from onnx import TensorProto, helper

    onnx_dtype = TensorProto.DataType.Name(helper.np_dtype_to_tensor_dtype(np.dtype(spec.numpy_dtype)))
    return spec.name, onnx_dtype, len(spec.dims) + 1


def check_runs(onnx_file: Path, contract: DetectorContract) -> None:
    """One call on a CHECK_SIDE image, batch of 2: the outputs must have the contract's shapes."""
    import onnxruntime as ort

    image = np.random.default_rng(0).integers(0, 256, (2, CHECK_SIDE, CHECK_SIDE, 3), dtype=np.uint8)
    try:
        session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
        arrays = session.run([spec.name for spec in contract.outputs], {IMAGE.name: image})
    except Exception as error:  # the runtime's own words, in one line
        raise DetectorModelError(
            f"{onnx_file} fails on a 2x{CHECK_SIDE}x{CHECK_SIDE}x3 uint8 image: {error}"
        ) from error
    shapes = {spec.name: array.shape for spec, array in zip(contract.outputs, arrays, strict=True)}
    sizes = {"batch": 2, "height": CHECK_SIDE, "width": CHECK_SIDE}  # the input's; others (K) must agree
    ok = True
    for spec in contract.outputs:
        shape = shapes[spec.name]
        ok &= len(shape) == len(spec.dims) + 1
        for axis, (dim, size) in enumerate(zip((-1, *spec.dims), shape)):
            wanted = dim if dim != -1 else sizes.setdefault(spec.axis_names[axis], size)
            ok &= size == wanted
    if not ok:
        wanted = " and ".join(f"{spec.name} [{', '.join(_shown(spec))}]" for spec in contract.outputs)
        raise DetectorModelError(
            f"{onnx_file} returned {shapes} for a 2x{CHECK_SIDE}x{CHECK_SIDE}x3 image; the {contract.name} "
            f"contract wants {wanted}"
        )


def _shown(spec: TensorSpec) -> list[str]:
    """An output's axes as the error shows them: batch 2, H, W, a count K, fixed sizes."""
    names = {"batch": "2", "height": "H", "width": "W"}
    return [str(d) if d != -1 else names.get(spec.axis_names[axis], "K") for axis, d in enumerate((-1, *spec.dims))]


def detector_configs(name: str, contract: DetectorContract) -> dict[str, str]:
    """Relative path -> text of the model's Triton configs: `config.pbtxt` (the onnxruntime
    backend, GPU) and `configs/cpu.pbtxt` (this project's detector_onnxruntime backend)."""
    tensors = {
        "input": ",\n".join(_tensor(spec) for spec in contract.inputs),
        "output": ",\n".join(_tensor(spec) for spec in contract.outputs),
    }
    io = "".join(f"{kind} [\n{lines}\n]\n" for kind, lines in tensors.items())
    head = f'name: "{name}"\ndefault_model_filename: "{MODEL_FILENAME}"\nmax_batch_size: {MAX_BATCH_SIZE}\n'
    batching = "dynamic_batching { max_queue_delay_microseconds: 5000 }\n"
    return {
        "config.pbtxt": f"# Added by lama-serve detector add ({contract.name}).\n{head}"
        f'platform: "onnxruntime_onnx"\nbackend: "onnxruntime"\n{io}'
        "instance_group [ { count: 1, kind: KIND_GPU } ]\n" + batching,
        "configs/cpu.pbtxt": f"# Added by lama-serve detector add ({contract.name}); CPU: ONNX Runtime "
        f'in the Python-based backend.\n{head}backend: "detector_onnxruntime"\n{io}'
        "instance_group [ { count: 1, kind: KIND_CPU } ]\n"
        f'parameters {{ key: "contract" value: {{ string_value: "{contract.name}" }} }}\n' + batching,
    }


def _tensor(spec: TensorSpec) -> str:
    dims = ", ".join(str(d) for d in spec.dims)
    return f'  {{ name: "{spec.name}", data_type: TYPE_{spec.dtype}, dims: [ {dims} ] }}'


def add_detector(
    repository: Path, name: str, onnx_file: Path, version: int = 1, replace: bool = False
) -> DetectorContract:
    """Check `onnx_file` (contract_of, check_runs), then write repository/<name>/<version>/model.onnx
    and the configs; an existing version is kept unless `replace`."""
    if not NAME.fullmatch(name) or name in RESERVED:
        raise DetectorModelError(
            f"model name {name!r}: use letters, digits, _ . - (up to 64), not one of {list(RESERVED)}"
        )
    contract = contract_of(onnx_file)
    check_runs(onnx_file, contract)
    models = ModelRepository(Path(repository), name)
    target = models.onnx_path(version)
    if target.exists() and not replace:
        raise DetectorModelError(f"{target} exists; pass --replace to overwrite it, or --model-version N for a new one")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_file, target)
    for relative, text in detector_configs(name, contract).items():
        path = models.model_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return contract
