"""The served text detector equals the reference normalisation + the wheel's original net."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from lama_serve.core.contract import PROBABILITY_MAP
from lama_serve.export.detector_text import (
    export_text_detector,
    reference_normalise,
    wheel_model,
)

(IMAGE,), (PROBABILITY,) = PROBABILITY_MAP.inputs, PROBABILITY_MAP.outputs


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_text_detector(tmp_path_factory.mktemp("watermark_text") / "1")


def test_reference_normalise_numbers() -> None:
    pixel = np.array([[[[0, 127.5, 255]]]]).astype(np.uint8)  # R=0, G=127, B=255
    out = reference_normalise(pixel)[0, :, 0, 0]
    np.testing.assert_allclose(out, [1.0, 127 / 127.5 - 1, -1.0], atol=1e-6)  # B, G, R


@pytest.mark.parametrize("shape", [(1, 64, 64, 3), (2, 96, 160, 3)])
def test_baked_graph_equals_reference_plus_original(served: Path, shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    (baked,) = ort.InferenceSession(str(served)).run([PROBABILITY.name], {IMAGE.name: image})
    original = ort.InferenceSession(str(wheel_model()))
    (reference,) = original.run(None, {original.get_inputs()[0].name: reference_normalise(image)})
    assert baked.shape == (*shape[:3], 1) and baked.dtype == np.float32
    max_abs = float(np.abs(baked - reference.transpose(0, 2, 3, 1)).max())
    print(f"\nbaked vs reference {shape}: max abs diff {max_abs:.2e}")
    assert max_abs <= 1e-5


def test_served_graph_follows_the_contract(served: Path) -> None:
    graph = onnx.load(str(served)).graph
    assert [(i.name, i.type.tensor_type.elem_type) for i in graph.input] == [(IMAGE.name, onnx.TensorProto.UINT8)]
    assert [(o.name, o.type.tensor_type.elem_type) for o in graph.output] == [
        (PROBABILITY.name, onnx.TensorProto.FLOAT)
    ]
    assert "Apache-2.0" in (served.parent / "NOTICE").read_text()
