"""The offline harness runs a probability-map graph on the gateway's tensors: pad to 32, crop back."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from lama_serve.bench.detect_offline import OfflineDetection, OnnxMap, served_path_scores
from lama_serve.bench.detect_rows import score_rows
from lama_serve.bench.detect_sets import labelled_set
from lama_serve.bench.inputs import as_sent
from lama_serve.core import contract
from lama_serve.detect.types import DetectionResult


def _first_channel_model(path: Path) -> Path:
    """A PROBABILITY_MAP graph whose map is the red channel / 255 (padding shows in the shape)."""
    (image,), (probability,) = contract.PROBABILITY_MAP.inputs, contract.PROBABILITY_MAP.outputs
    nodes = [
        helper.make_node("Cast", [image.name], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Slice", ["f", "start", "end", "axis"], ["red"]),
        helper.make_node("Div", ["red", "scale"], [probability.name]),
    ]
    inits = [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (("start", 0), ("end", 1), ("axis", 3))]
    inits.append(helper.make_tensor("scale", TensorProto.FLOAT, [], [255.0]))
    graph = helper.make_graph(
        nodes,
        "red",
        [helper.make_tensor_value_info(image.name, TensorProto.UINT8, [None, None, None, 3])],
        [helper.make_tensor_value_info(probability.name, TensorProto.FLOAT, [None, None, None, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def test_onnx_map_crops_back_to_the_image_and_scales_to_a_shape(tmp_path: Path) -> None:
    predict = OnnxMap(_first_channel_model(tmp_path / "m.onnx"))
    image = np.zeros((50, 70, 3), np.uint8)
    image[..., 0] = 255
    probability = predict(image)
    assert probability.shape == (50, 70, 1) and np.allclose(probability, 1.0)
    assert predict(image, (100, 140)).shape == (100, 140, 1)


def test_a_large_image_also_gets_the_scaled_views_maps(tmp_path: Path, monkeypatch) -> None:
    for name in contract.DETECTOR_MODELS:
        _first_channel_model(tmp_path / name / "1" / "model.onnx")
    detection = OfflineDetection(tmp_path)
    seen = {}
    monkeypatch.setattr(
        "lama_serve.bench.detect_offline.detect_on_view",
        lambda maps, view, local, view_maps: seen.update(view_maps) or local,
    )
    detection.detect(np.zeros((768, 1024, 3), np.uint8))
    shapes = {view: {name: m.shape for name, m in maps.items()} for view, maps in seen.items()}
    assert shapes == {view: {contract.SEG_MODEL_NAME: (768, 1024, 1)} for view in ("native", "coarse")}


def test_served_path_scores_feed_score_rows(tmp_path: Path) -> None:
    for name in contract.DETECTOR_MODELS:
        _first_channel_model(tmp_path / name / "1" / "model.onnx")
    detection = OfflineDetection(tmp_path)
    assert detection.names == list(contract.DETECTOR_MODELS)  # `tiled` is opt-in, templates need a folder
    rows = score_rows(served_path_scores(labelled_set(1, 64, seed=0), detection))
    assert {row["kind"].split(" ")[0] for row in rows} >= {"clean", "logo"}
    seen = []
    detection.detect = lambda image: seen.append(image) or DetectionResult.empty(image.shape)
    composites = labelled_set(1, 64, seed=0)[:2]
    served_path_scores(composites, detection, jpeg=30)  # the detectors see what a JPEG upload decodes to
    assert all(
        np.array_equal(s, as_sent(c.image, 30)) and not np.array_equal(s, c.image) for s, c in zip(seen, composites)
    )


def test_the_offline_run_judges_its_rows_against_the_targets(tmp_path: Path, capsys) -> None:
    """The red-channel graphs mask whatever is red: some rows meet their bars, some do not;
    every judged row says which, in the table, the CSV and the summary line."""
    from lama_serve.cli import main

    for name in contract.DETECTOR_MODELS:
        _first_channel_model(tmp_path / "repo" / name / "1" / "model.onnx")
    out = tmp_path / "out"
    argv = ["bench", "detect", "--offline", str(tmp_path / "repo"), "--size", "96", "--per-kind", "1"]
    assert main([*argv, "--shared", "0", "--runs", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "targets (opacity >= 0.3): " in printed and " rows met" in printed
    rows = {row["kind"]: row for row in csv.DictReader((out / "detect.csv").open())}
    assert rows["clean"]["target"] in ("met", "short")
    assert rows["known template (un-blended)"]["target"] in ("met", "short")
    assert {row["target"] for kind, row in rows.items() if "faint" in kind} <= {""}  # not judged
