"""An operator's own box detector (`lama-serve detector add`), served by the real bundled
Triton through the CPU backend and used by the gateway: the boxes become the mask."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as httpclient

from lama_serve.core.repository import served_models
from lama_serve.detect.synth import random_photo
from lama_serve.export.detector_add import add_detector
from lama_serve.triton.process import TritonProcess
from tests.detect.images import blend, text_alpha
from tests.export.detector_graphs import BOX, SCORE, box_model

from .conftest import AUTH, SettingsFactory, decode, encode, files, gateway, with_rim

pytestmark = pytest.mark.anyio
NAME = "logo_boxes"


@pytest.fixture
def box_triton(copy_repository, start_triton, tmp_path: Path) -> TritonProcess:
    repository = copy_repository()
    add_detector(repository, NAME, box_model(tmp_path / "boxes.onnx"))
    return start_triton(repository, models=served_models(repository, (NAME,)))


@pytest.fixture
async def client(make_settings: SettingsFactory, box_triton: TritonProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway(make_settings(triton_url=box_triton.http_url, detectors=(NAME,))) as client:
        yield client


def marked() -> np.ndarray:
    """A held-out photo with a white semi-transparent word inside BOX."""
    clean = random_photo(np.random.default_rng(3), "heldout", (160, 192))
    return blend(clean, (255, 255, 255), text_alpha("LOGO", 24, 0.6), BOX[0] + 8, BOX[1] + 4)


def test_triton_serves_the_boxes_in_batches(box_triton: TritonProcess) -> None:
    client = httpclient.InferenceServerClient(box_triton.http_url)
    try:
        tensor = httpclient.InferInput("image", [3, 64, 96, 3], "UINT8")
        tensor.set_data_from_numpy(np.zeros((3, 64, 96, 3), np.uint8))
        result = client.infer(NAME, [tensor])
    finally:
        client.close()
    assert result.as_numpy("boxes").shape == (3, 2, 4) and result.as_numpy("scores").shape == (3, 2)
    assert result.as_numpy("boxes")[2, 0].tolist() == list(BOX)


async def test_the_gateway_masks_the_boxes(client: httpx.AsyncClient) -> None:
    image = marked()
    found = (await client.post("/api/v1/detect", headers=AUTH, files=files(encode(image)))).json()
    assert found["watermark_found"]
    (region,) = found["regions"]  # the empty slot (score 0) reports nothing
    assert (region["x"], region["y"], region["width"], region["height"]) == (24, 16, 96, 32)
    assert region["kind"] == NAME and 0 < region["score"] <= SCORE
    png = await client.post("/api/v1/detect", headers=AUTH, params={"format": "png"}, files=files(encode(image)))
    mask = decode(png.content) > 0
    x0, y0, x1, y1 = BOX
    near = np.zeros_like(mask)
    near[y0 - 2 : y1 + 2, x0 - 2 : x1 + 2] = True  # the box and the changed rim added to every mask
    assert mask[y0:y1, x0:x1].all() and not mask[~near].any()
    removed = await client.post("/api/v1/remove-watermark", headers=AUTH, files=files(encode(image)))
    assert removed.status_code == 200 and removed.headers["X-Watermark-Regions"] == "1"
    changed = (decode(removed.content) != image).any(axis=2)
    assert changed[y0:y1, x0:x1].mean() > 0.5 and not changed[~with_rim(mask)].any()  # the mask and its rim
