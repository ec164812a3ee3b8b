"""The exported graph on a GPU: the ops chosen for TensorRT/CUDA (MatMul DFT, no DFT op)
must run on ONNX Runtime's CUDA provider and agree with the CPU."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from lama_serve.export.parity import random_inputs
from lama_serve.export.pipeline import export_to_repository

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_cuda_provider_matches_cpu(tmp_path: Path, precision: str) -> None:
    result = export_to_repository(tmp_path, 1, arch="tiny", precision=precision)
    cpu = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    cuda = ort.InferenceSession(str(result.onnx_path), providers=["CUDAExecutionProvider"])
    assert cuda.get_providers()[0] == "CUDAExecutionProvider"
    image, mask = random_inputs((2, 64, 96), np.random.default_rng(0))
    feeds = {"image": image, "mask": mask}
    (on_cpu,), (on_gpu,) = cpu.run(None, feeds), cuda.run(None, feeds)
    assert np.abs(on_cpu.astype(np.int16) - on_gpu.astype(np.int16)).max() <= 1
