"""Triton failure classification, device and random-weights detection (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tritonclient.utils import InferenceServerException

from lama_serve.gateway.errors import ModelUnavailable, UpstreamFailed, api_error
from lama_serve.gateway.triton import device_from_config, random_weights_warning
from lama_serve.triton.errors import classify


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
