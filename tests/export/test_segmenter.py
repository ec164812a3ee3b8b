"""The segmenter's served ONNX graph equals PyTorch eager; a tiny training run is seeded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from lama_serve.core.contract import PROBABILITY_MAP
from lama_serve.export.detector_train import TrainConfig, train_and_export
from lama_serve.export.segmenter import SegNet, ServedSegmenter, export_segmenter

(IMAGE,), (PROBABILITY,) = PROBABILITY_MAP.inputs, PROBABILITY_MAP.outputs


def _randomised_net(seed: int) -> SegNet:
    """Random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    net = SegNet()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_onnx_equals_torch_eager(tmp_path: Path) -> None:
    net = _randomised_net(0)
    path = export_segmenter(net, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path))
    for shape in [(1, 64, 64, 3), (3, 96, 128, 3)]:
        image = np.random.default_rng(shape[1]).integers(0, 256, shape, dtype=np.uint8)
        (served,) = session.run([PROBABILITY.name], {IMAGE.name: image})
        with torch.no_grad():
            eager = ServedSegmenter(net)(torch.from_numpy(image)).numpy()
        assert served.shape == (*shape[:3], 1)
        max_abs = float(np.abs(served - eager).max())
        print(f"\nsegmenter ONNX vs eager {shape}: max abs diff {max_abs:.2e}")
        assert max_abs <= 1e-4


def test_training_is_seeded(tmp_path: Path) -> None:
    config = TrainConfig(steps=2, pool=6, batch=2, crop=64, sides=(96, 128))
    runs = [train_and_export(config, tmp_path / f"run{i}.onnx", progress=lambda _: None) for i in range(2)]
    assert runs[0]["final_loss"] == runs[1]["final_loss"] and runs[0]["completed"]
    assert json.loads((tmp_path / "run0.json").read_text())["steps_done"] == 2


def test_train_command_records_its_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lama_serve.cli import main

    output = tmp_path / "seg.onnx"
    argv = ["detector", "train", "--steps", "2", "--pool", "6", "--threads", "1", "--jpeg", "0.5"]
    assert main([*argv, "--output", str(output)]) == 0
    recipe = json.loads(output.with_suffix(".json").read_text())
    assert recipe["config"]["pool"] == 6 and recipe["config"]["jpeg"] == 0.5 and recipe["steps_done"] == 2
    assert f"wrote {output}" in capsys.readouterr().out
