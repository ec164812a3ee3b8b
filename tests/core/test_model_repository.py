"""model_repository/lama: both configs agree with export/contract.py and keep their promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from lama_serve.backend.cpu_runtime import RUNTIMES
from lama_serve.core import contract
from lama_serve.core.settings import Settings

MODEL_DIR = Path(__file__).resolve().parents[2] / "model_repository" / contract.MODEL_NAME
GPU_CONFIG = MODEL_DIR / "config.pbtxt"
CPU_CONFIG = MODEL_DIR / "configs" / "cpu.pbtxt"
CPU_OPENVINO_CONFIG = MODEL_DIR / "configs" / "cpu-openvino.pbtxt"  # NGC Triton's openvino backend
ALL_CONFIGS = pytest.mark.parametrize(
    "path", [GPU_CONFIG, CPU_CONFIG, CPU_OPENVINO_CONFIG], ids=["gpu", "cpu", "cpu-openvino"]
)


def load(path: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def as_contract(tensors: object) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(t.name, model_config_pb2.DataType.Name(t.data_type).removeprefix("TYPE_"), tuple(t.dims)) for t in tensors]


@ALL_CONFIGS
def test_io_matches_contract(path: Path) -> None:
    config = load(path)
    assert config.name == contract.MODEL_NAME
    assert config.max_batch_size == contract.MAX_BATCH_SIZE
    assert as_contract(config.input) == [(t.name, t.dtype, t.dims) for t in contract.INPUTS]
    assert as_contract(config.output) == [(t.name, t.dtype, t.dims) for t in contract.OUTPUTS]


@ALL_CONFIGS
def test_overload_is_rejected_and_ready_means_warm(path: Path) -> None:
    config = load(path)
    policy = config.dynamic_batching.default_queue_policy
    assert config.HasField("dynamic_batching")
    assert policy.timeout_action == model_config_pb2.ModelQueuePolicy.REJECT
    assert policy.max_queue_size > 0 and policy.default_timeout_microseconds > 0
    assert config.version_policy.HasField("latest")
    assert config.model_warmup, "ready must mean warmed up"
    for warmup in config.model_warmup:
        assert set(warmup.inputs) == {t.name for t in contract.INPUTS}
        for name, spec in warmup.inputs.items():
            assert all(d % contract.SPATIAL_MULTIPLE == 0 for d in spec.dims[:2]), name
        assert 1 <= warmup.batch_size <= contract.MAX_BATCH_SIZE


def test_gpu_config_uses_tensorrt_with_a_profile_covering_the_batch() -> None:
    config = load(GPU_CONFIG)
    assert config.backend == "onnxruntime"
    assert [g.kind for g in config.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_GPU]
    (trt,) = config.optimization.execution_accelerators.gpu_execution_accelerator
    assert trt.name == "tensorrt"
    assert trt.parameters["precision_mode"] == "FP16"
    profile_max = dict(item.split(":") for item in trt.parameters["trt_profile_max_shapes"].split(","))
    assert set(profile_max) == {t.name for t in contract.INPUTS}
    assert all(int(s.split("x")[0]) == contract.MAX_BATCH_SIZE for s in profile_max.values())


def test_cpu_config_uses_our_python_based_backend() -> None:
    config = load(CPU_CONFIG)
    backend_dir = Path(__file__).resolve().parents[2] / "lama_serve" / "backend" / config.backend
    assert (backend_dir / "model.py").is_file()
    assert [g.kind for g in config.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_CPU]
    assert config.parameters["threads"].string_value.isdigit()
    assert config.parameters["runtime"].string_value in RUNTIMES
    assert config.parameters["precision"].string_value == "auto"
    assert config.parameters["runtime"].string_value == "openvino"


def test_cpu_openvino_config_hints_bf16_latency_and_dynamic_shapes() -> None:
    """Triton's own openvino backend reads model.onnx; its parameter names are that backend's."""
    config = load(CPU_OPENVINO_CONFIG)
    assert (config.backend, config.default_model_filename) == ("openvino", "model.onnx")
    assert [g.kind for g in config.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_CPU]
    parameters = {key: value.string_value for key, value in config.parameters.items()}
    assert parameters == {
        "HINT_BF16": "YES",
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": "1",
        "RESHAPE_IO_LAYERS": "YES",
    }
    cpu = load(CPU_CONFIG)
    assert config.dynamic_batching == cpu.dynamic_batching


def test_cpu_config_warms_the_gateways_tile_buckets() -> None:
    warm = load(CPU_CONFIG).parameters["warm_sides"].string_value
    assert tuple(int(s) for s in warm.split(",")) == Settings.model_fields["tile_buckets"].default


@pytest.mark.parametrize("path", [GPU_CONFIG, CPU_CONFIG, CPU_OPENVINO_CONFIG], ids=lambda p: p.name)
def test_small_calls_have_a_priority_level_of_their_own(path: Path) -> None:
    """The gateway's HIGH_PRIORITY goes ahead of the default level large calls get."""
    from lama_serve.triton.client import HIGH_PRIORITY

    batching = load(path).dynamic_batching
    assert batching.priority_levels == 2
    assert HIGH_PRIORITY < batching.default_priority_level == batching.priority_levels


@pytest.mark.parametrize("path", [CPU_CONFIG, CPU_OPENVINO_CONFIG], ids=lambda p: p.name)
def test_cpu_configs_run_a_small_call_next_to_a_heavy_one(path: Path) -> None:
    assert sum(group.count for group in load(path).instance_group) == 2


def test_cpu_config_releases_memory_after_calls_larger_than_a_tile() -> None:
    """Tile-sized calls keep OpenVINO's buffers; whole-image calls beyond the largest give them back."""
    above = int(load(CPU_CONFIG).parameters["release_memory_above_pixels"].string_value)
    assert above == max(Settings.model_fields["tile_buckets"].default) ** 2
