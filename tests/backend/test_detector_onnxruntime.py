"""Both detector models served by the real bundled Triton (CPU configs, backend
`detector_onnxruntime`): probability maps of the right shape equal to ONNX Runtime, same-shape
batching, per-request errors, and a text map that lights up on text."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as httpclient
from PIL import Image, ImageDraw, ImageFont
from tritonclient.utils import InferenceServerException

from lama_serve.core.contract import (
    DETECTOR_MODELS,
    PROBABILITY_MAP,
    REPOSITORY_MODELS,
    TEXT_MODEL_NAME,
)
from lama_serve.core.repository import served_models
from lama_serve.detect.sources import FONTS, font_path
from lama_serve.triton.process import TritonProcess

(IMAGE,), (PROBABILITY,) = PROBABILITY_MAP.inputs, PROBABILITY_MAP.outputs


def detect(url: str, model: str, image: np.ndarray) -> np.ndarray:
    client = httpclient.InferenceServerClient(url)
    try:
        tensor = httpclient.InferInput(IMAGE.name, list(image.shape), IMAGE.dtype)
        tensor.set_data_from_numpy(image)
        return client.infer(model, [tensor]).as_numpy(PROBABILITY.name)
    finally:
        client.close()


def onnxruntime_map(repository: Path, model: str, image: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(repository / model / "1" / "model.onnx"))
    return session.run([PROBABILITY.name], {IMAGE.name: image})[0]


def test_present_detectors_are_loaded(tiny_repository: Path, detector_repository: Path) -> None:
    assert served_models(tiny_repository) == ("lama",)
    assert served_models(detector_repository) == REPOSITORY_MODELS


@pytest.mark.parametrize("model", DETECTOR_MODELS)
def test_probability_map_of_the_right_shape(detector_triton: TritonProcess, model: str) -> None:
    image = np.random.default_rng(0).integers(0, 256, (2, 96, 160, 3), dtype=np.uint8)
    served = detect(detector_triton.http_url, model, image)
    assert served.shape == (2, 96, 160, 1) and served.dtype == np.float32
    assert served.min() >= 0.0 and served.max() <= 1.0
    np.testing.assert_allclose(served, onnxruntime_map(detector_triton.repository, model, image), atol=1e-5)


@pytest.mark.parametrize("model", DETECTOR_MODELS)
def test_concurrent_mixed_shapes_each_get_their_map(detector_triton: TritonProcess, model: str) -> None:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (1, side, 64, 3), dtype=np.uint8) for side in (64, 128, 64, 128)]
    with ThreadPoolExecutor(len(images)) as pool:
        maps = list(pool.map(lambda im: detect(detector_triton.http_url, model, im), images))
    for image, served in zip(images, maps):
        np.testing.assert_allclose(served, onnxruntime_map(detector_triton.repository, model, image), atol=1e-5)


def test_bad_size_fails_alone_and_says_how_to_fix(detector_triton: TritonProcess) -> None:
    bad = np.zeros((1, 100, 64, 3), np.uint8)
    with pytest.raises(InferenceServerException, match="multiples of 32.*e.g. 128x64"):
        detect(detector_triton.http_url, TEXT_MODEL_NAME, bad)
    good = np.zeros((1, 64, 64, 3), np.uint8)
    assert detect(detector_triton.http_url, TEXT_MODEL_NAME, good).shape == (1, 64, 64, 1)


def test_text_map_lights_up_on_text(detector_triton: TritonProcess) -> None:
    canvas = Image.new("RGB", (256, 128), (255, 255, 255))
    font = ImageFont.truetype(str(font_path(FONTS["heldout"][0])), 28)
    ImageDraw.Draw(canvas).text((16, 40), "SAMPLE TEXT", fill=(0, 0, 0), font=font)
    image = np.asarray(canvas)[None]
    (served,) = detect(detector_triton.http_url, TEXT_MODEL_NAME, image)
    ink = image[0].min(axis=-1) < 128
    inside, outside = served[ink, 0].mean(), served[~ink, 0].mean()
    print(f"\ntext probability on the ink {inside:.3f}, elsewhere {outside:.3f}")
    assert inside > outside + 0.2
