"""Smoke check verdicts on fake models, and the ONNX preflight."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import pytest

from lama_serve.core.contract import SPATIAL_MULTIPLE
from lama_serve.rollout.smoke import GOLDEN_SIZES, golden_pair, preflight, smoke_check

from .conftest import write_half_size_model


def _inpaint(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A well-behaved model: holes filled with gray, the rest untouched."""
    return np.where(mask > 0, np.uint8(128), image)


def test_golden_pairs_are_deterministic_and_contract_shaped() -> None:
    for height, width in GOLDEN_SIZES:
        image, mask = golden_pair(height, width)
        again = golden_pair(height, width)
        assert np.array_equal(image, again[0]) and np.array_equal(mask, again[1])
        assert image.shape == (height, width, 3) and mask.shape == (height, width, 1)
        assert height % SPATIAL_MULTIPLE == 0 and width % SPATIAL_MULTIPLE == 0
        assert set(np.unique(mask)) == {0, 255}


def test_good_model_passes_with_figures() -> None:
    report = smoke_check(_inpaint, max_latency_s=5)
    assert report.passed, report.reasons
    figures = report.figures()
    assert figures["passed"] and len(figures["masked_change"]) == len(GOLDEN_SIZES)
    assert all(change > 50 for change in figures["masked_change"])


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (lambda image, mask: image, "masked region barely changed"),
        (lambda image, mask: np.zeros_like(image), "unmasked pixels changed"),
        (lambda image, mask: image[::2, ::2], "expected uint8"),
        (lambda image, mask: _inpaint(image, mask).astype(np.float32), "expected uint8"),
        (lambda image, mask: 1 / 0, "inference failed: division by zero"),
    ],
)
def test_broken_models_are_rejected_with_the_reason(model, reason: str) -> None:
    report = smoke_check(model, max_latency_s=5)
    assert not report.passed
    assert any(reason in r for r in report.reasons), report.reasons


def test_slow_model_is_rejected() -> None:
    def slow(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        time.sleep(0.06)
        return _inpaint(image, mask)

    report = smoke_check(slow, max_latency_s=0.05)
    assert not report.passed and "ROLLOUT_SMOKE_MAX_LATENCY_S" in report.reasons[-1]


def test_preflight(tmp_path: Path) -> None:
    assert preflight(write_half_size_model(tmp_path / "ok_names.onnx")) == []
    renamed = onnx.load(str(tmp_path / "ok_names.onnx"))
    renamed.graph.output[0].name = renamed.graph.node[0].output[0] = "output"
    onnx.save(renamed, str(tmp_path / "renamed.onnx"))
    assert "the contract wants" in preflight(tmp_path / "renamed.onnx")[0]
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    assert "not a readable ONNX model" in preflight(garbage)[0]
