"""Triton failure classification, device and random-weights detection (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tritonclient.utils import InferenceServerException

from lama_serve.core.contract import BOX_LIST, PROBABILITY_MAP
from lama_serve.detect.types import DetectionConfigError
from lama_serve.gateway.errors import ModelUnavailable, UpstreamFailed, api_error
from lama_serve.gateway.triton import TritonModel, device_from_config, random_weights_warning
from lama_serve.triton.errors import TritonUnavailable, classify


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        ("503", "Exceeds maximum queue size", ModelUnavailable),
        ("429", "too many requests", ModelUnavailable),
        ("400", "Request for unknown model: 'lama' is not found", ModelUnavailable),
        ("500", "Stub process 'lama_0_0' is not healthy.", ModelUnavailable),
        ("400", "unexpected shape for input 'image'", UpstreamFailed),
        ("500", "onnxruntime failed", UpstreamFailed),
    ],
)
def test_classify(status: str, message: str, expected: type) -> None:
    triton_error = classify(InferenceServerException(message, status=status), url="t:8000", what="run lama")
    error = api_error(triton_error, retry_after_s=7)
    assert isinstance(error, expected)
    if expected is ModelUnavailable:
        assert error.headers == {"Retry-After": "7"}


def test_device_from_instance_group() -> None:
    assert device_from_config({"instance_group": [{"kind": "KIND_GPU"}]}) == "cuda"
    assert device_from_config({"instance_group": [{"kind": "KIND_CPU"}]}) == "cpu"


def test_random_weights_warning(tmp_path: Path) -> None:
    version = tmp_path / "lama" / "3"
    version.mkdir(parents=True)
    assert random_weights_warning(tmp_path, "lama", "3") is None  # no manifest
    (version / "export.json").write_text(json.dumps({"checkpoint_sha256": "random"}))
    assert "RANDOM WEIGHTS" in random_weights_warning(tmp_path, "lama", "3")
    (version / "export.json").write_text(json.dumps({"checkpoint_sha256": "ab" * 32}))
    assert random_weights_warning(tmp_path, "lama", "3") is None
    assert random_weights_warning(tmp_path, "lama", None) is None


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_detector_contract_is_read_from_the_model_outputs(
    monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    """Triton's metadata names the outputs; the NGC onnxruntime backend (not here) serves any
    graph, so a model whose outputs follow no contract must be refused by name."""
    model = TritonModel("127.0.0.1:9", "lama", "", 1.0, 1.0, 1)
    answers = {
        "seg": {"outputs": [{"name": "probability"}]},
        "boxes": {"outputs": [{"name": "scores"}, {"name": "boxes"}]},
        "heat": {"outputs": [{"name": "heatmap"}]},
    }

    async def metadata(name: str, version: str = "") -> dict:
        if name not in answers:
            raise TritonUnavailable("not loaded")
        return answers[name]

    monkeypatch.setattr(model._triton, "model_metadata", metadata)
    assert await model.detector_contract("seg") is PROBABILITY_MAP
    assert await model.detector_contract("boxes") is BOX_LIST
    assert await model.detector_contract("absent") is None
    with pytest.raises(
        DetectionConfigError, match=r"heat has outputs \['heatmap'\].*\['probability'\] or \['boxes', 'scores'\]"
    ):
        await model.detector_contract("heat")
    await model.close()
