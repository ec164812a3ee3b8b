"""model_repository/watermark_*: both configs of each detector follow core.contract.PROBABILITY_MAP."""

from __future__ import annotations

from pathlib import Path

import pytest
from tritonclient.grpc import model_config_pb2

from lama_serve.core import contract
from tests.core.test_model_repository import as_contract, load

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [
    (name, path)
    for name in contract.DETECTOR_MODELS
    for path in (
        ROOT / "model_repository" / name / "config.pbtxt",
        ROOT / "model_repository" / name / "configs" / "cpu.pbtxt",
    )
]


@pytest.mark.parametrize(("name", "path"), CONFIGS, ids=[f"{n}-{p.parent.name}" for n, p in CONFIGS])
def test_detector_config_follows_the_contract(name: str, path: Path) -> None:
    config = load(path)
    spec = contract.PROBABILITY_MAP
    assert config.name == name and config.max_batch_size == contract.MAX_BATCH_SIZE
    assert as_contract(config.input) == [(t.name, t.dtype, t.dims) for t in spec.inputs]
    assert as_contract(config.output) == [(t.name, t.dtype, t.dims) for t in spec.outputs]
    assert config.dynamic_batching.default_queue_policy.timeout_action == model_config_pb2.ModelQueuePolicy.REJECT
    for warmup in config.model_warmup:
        assert set(warmup.inputs) == {t.name for t in spec.inputs}
        assert all(d % spec.spatial_multiple == 0 for d in warmup.inputs[spec.inputs[0].name].dims[:2])
    if path.parent.name == "configs":
        assert (ROOT / "lama_serve" / "backend" / config.backend / "model.py").is_file()
        assert [g.kind for g in config.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_CPU]
    else:
        assert config.backend == "onnxruntime"
        assert [g.kind for g in config.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_GPU]
