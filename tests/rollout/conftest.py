"""Rollout fixtures: broken model versions, a second good export, settings for a private Triton."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from lama_serve.core.contract import IMAGE, INPAINTED, MASK, MODEL_NAME
from lama_serve.core.settings import REPOSITORY_API_HEADER, Settings
from lama_serve.triton.process import TritonProcess


def write_half_size_model(path: Path) -> Path:
    """An ONNX obeying the contract's names but answering [N, H/2, W/2, 3]."""
    dims = {IMAGE.name: ["n", "h", "w", 3], MASK.name: ["n", "h", "w", 1]}
    inputs = [helper.make_tensor_value_info(name, TensorProto.UINT8, shape) for name, shape in dims.items()]
    output = helper.make_tensor_value_info(INPAINTED.name, TensorProto.UINT8, ["n", "h2", "w2", 3])
    constants = [
        helper.make_tensor(name, TensorProto.INT64, [2], values)
        for name, values in (
            ("starts", [0, 0]),
            ("ends", [np.iinfo(np.int64).max] * 2),
            ("axes", [1, 2]),
            ("steps", [2, 2]),
        )
    ]
    node = helper.make_node("Slice", [IMAGE.name, "starts", "ends", "axes", "steps"], [INPAINTED.name])
    model = helper.make_model(
        helper.make_graph([node], "half_size", inputs, [output], constants), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8  # readable by every onnxruntime the project allows
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_v2_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny export (other seed) to copy in as a good version without re-exporting each time."""
    from lama_serve.export.pipeline import export_to_repository

    repository = tmp_path_factory.mktemp("v2_export")
    export_to_repository(repository, 2, arch="tiny", seed=1)
    return repository / MODEL_NAME / "2"


def add_version(repository: Path, version: int, source: Path) -> None:
    shutil.copytree(source, repository / MODEL_NAME / str(version))


def settings_for(triton: TritonProcess, state_path: Path) -> Settings:
    """Settings pointing at a private Triton, with drains short enough for tests."""
    return Settings(
        rollout_state_path=state_path,
        model_repository=triton.repository,
        triton_url=triton.http_url,
        triton_admin_key=triton.repository_api_headers[REPOSITORY_API_HEADER],
        rollout_ready_timeout_s=120,
        rollout_drain_quiet_s=0.5,
        rollout_drain_timeout_s=20,
    )
