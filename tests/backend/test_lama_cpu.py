"""The CPU backend through Triton, with each runtime: exact parity with the same runtime
in-process, the precision it reports, real batching, and per-request errors that leave the
server serving."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as httpclient
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2
from tritonclient.utils import InferenceServerException

from lama_serve.backend.openvino_runtime import OpenVINORuntime
from lama_serve.core.contract import IMAGE, INPAINTED, MASK, MODEL_NAME
from lama_serve.core.cpu_precision import host_precision
from lama_serve.triton.process import TritonProcess

CPU_CONFIG = ("configs", "cpu.pbtxt")


def make_inputs(n: int, height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (n, height, width, 3), dtype=np.uint8)
    mask = np.zeros((n, height, width, 1), np.uint8)
    mask[:, height // 4 : height // 2, width // 4 : width // 2] = 255
    return image, mask


def triton_infer(url: str, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    client = httpclient.InferenceServerClient(url)
    try:
        inputs = [
            httpclient.InferInput(IMAGE.name, list(image.shape), IMAGE.dtype),
            httpclient.InferInput(MASK.name, list(mask.shape), MASK.dtype),
        ]
        inputs[0].set_data_from_numpy(image)
        inputs[1].set_data_from_numpy(mask)
        return client.infer(MODEL_NAME, inputs).as_numpy(INPAINTED.name)
    finally:
        client.close()


def onnxruntime_infer(repository: Path, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(
        str(repository / MODEL_NAME / "1" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    return session.run([INPAINTED.name], {IMAGE.name: image, MASK.name: mask})[0]


def configure(repository: Path, edit: Callable[[model_config_pb2.ModelConfig], None]) -> Path:
    path = repository.joinpath(MODEL_NAME, *CPU_CONFIG)
    config = text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
    edit(config)
    path.write_text(text_format.MessageToString(config))
    return repository


def served_precision(metrics_url: str) -> tuple[str, str]:
    text = httpx.get(metrics_url).text
    match = re.search(r"^lama_inference_precision{(.*)} 1$", text, re.MULTILINE)
    assert match, [line for line in text.splitlines() if "lama_" in line]
    labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
    return labels["runtime"], labels["precision"]


@pytest.fixture(params=["openvino", "onnxruntime"])
def runtime_triton(
    request: pytest.FixtureRequest, copy_repository: Callable[[], Path], start_triton: Callable[..., TritonProcess]
) -> TritonProcess:
    def edit(config: model_config_pb2.ModelConfig) -> None:
        config.parameters["runtime"].string_value = request.param

    return start_triton(configure(copy_repository(), edit))


def test_each_runtime_serves_its_own_pixels_and_reports_its_precision(runtime_triton: TritonProcess) -> None:
    runtime, precision = served_precision(runtime_triton.metrics_url)
    expected = host_precision()[0] if runtime == "openvino" else "f32"  # tiny passes the gate
    assert precision == expected
    model = runtime_triton.repository / MODEL_NAME / "1" / "model.onnx"
    for height, width in [(64, 96), (128, 128)]:
        image, mask = make_inputs(2, height, width)
        served = triton_infer(runtime_triton.http_url, image, mask)
        assert served.dtype == np.uint8 and served.shape == image.shape
        local = (
            OpenVINORuntime(model, precision, 1)(image, mask)
            if runtime == "openvino"
            else onnxruntime_infer(runtime_triton.repository, image, mask)
        )
        np.testing.assert_array_equal(served, local)


@pytest.mark.parametrize(
    ("height", "width", "message"), [(60, 96, "multiples of 8"), (8, 8, "at least 16"), (16, 8, "at least 16")]
)
def test_bad_request_fails_alone_and_server_keeps_serving(
    triton_server: TritonProcess, height: int, width: int, message: str
) -> None:
    """The default (OpenVINO) config: a shape the graph cannot take is a 400 that says the
    fix, and shapes served before still work (an 8x8 call used to poison the model)."""
    image, mask = make_inputs(1, 64, 96)
    assert triton_infer(triton_server.http_url, image, mask).shape == image.shape
    with pytest.raises(InferenceServerException) as info:
        triton_infer(triton_server.http_url, *make_inputs(1, height, width))
    assert info.value.status() == "400" and message in info.value.message()
    assert triton_infer(triton_server.http_url, image, mask).shape == image.shape


def test_openvino_recovers_from_a_failed_call(tiny_repository: Path) -> None:
    """A call the graph cannot run (8x8: REFLECT pad wider than the bottleneck) fails alone:
    before the recompile, every later call at a shape seen before failed too. 2 threads:
    OpenVINO 2026.4 takes a path on 1 thread that does not check the pad."""
    run = OpenVINORuntime(tiny_repository / MODEL_NAME / "1" / "model.onnx", "f32", 2)
    image, mask = make_inputs(1, 64, 64)
    expected = run(image, mask)
    with pytest.raises(RuntimeError, match="Pad"):
        run(*make_inputs(1, 8, 8))
    np.testing.assert_array_equal(run(image, mask), expected)


def _counter(metrics: str, name: str) -> float:
    match = re.search(rf'^{name}{{model="{MODEL_NAME}",version="1"}} (\S+)$', metrics, re.MULTILINE)
    assert match, f"{name} for {MODEL_NAME} missing from the metrics"
    return float(match.group(1))


@pytest.fixture
def slow_batching_triton(
    copy_repository: Callable[[], Path], start_triton: Callable[..., TritonProcess]
) -> TritonProcess:
    """Private Triton whose batcher waits 1 s (and queues enough), so concurrent requests
    surely share a batch; ONNX Runtime, so results compare exactly with in-process ORT."""

    def edit(config: model_config_pb2.ModelConfig) -> None:
        config.dynamic_batching.max_queue_delay_microseconds = 1_000_000
        config.dynamic_batching.default_queue_policy.max_queue_size = 32
        config.parameters["runtime"].string_value = "onnxruntime"

    return start_triton(configure(copy_repository(), edit))


def test_concurrent_requests_are_batched_per_shape(slow_batching_triton: TritonProcess) -> None:
    shapes = [(64, 64)] * 4 + [(32, 48)] * 4  # two groups: one model call each
    requests = [make_inputs(1, h, w, seed=i) for i, (h, w) in enumerate(shapes)]
    bad = make_inputs(1, 60, 96)  # joins the same batch and must fail alone

    def call(inputs: tuple[np.ndarray, np.ndarray]) -> np.ndarray | InferenceServerException:
        try:
            return triton_infer(slow_batching_triton.http_url, *inputs)
        except InferenceServerException as error:
            return error

    before = httpx.get(slow_batching_triton.metrics_url).text
    with ThreadPoolExecutor(len(requests) + 1) as pool:
        *served, bad_result = pool.map(call, [*requests, bad])
    after = httpx.get(slow_batching_triton.metrics_url).text

    assert isinstance(bad_result, InferenceServerException) and bad_result.status() == "400"
    for (image, mask), result in zip(requests, served):
        assert isinstance(result, np.ndarray), result
        np.testing.assert_array_equal(result, onnxruntime_infer(slow_batching_triton.repository, image, mask))
    inferences, executions = (
        _counter(after, name) - _counter(before, name) for name in ("nv_inference_count", "nv_inference_exec_count")
    )
    assert inferences >= len(requests)
    assert executions < inferences
