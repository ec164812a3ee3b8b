from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto

from lama_serve.cli import main
from lama_serve.core.contract import BOX_LIST, PROBABILITY_MAP
from lama_serve.core.repository import ModelRepository, served_models
from lama_serve.export.detector_add import (
    DetectorModelError,
    add_detector,
    check_runs,
    contract_of,
    detector_configs,
)
from tests.export.detector_graphs import BOX, SCORE, box_model, map_model


def test_the_declared_io_names_the_contract(tmp_path: Path) -> None:
    assert contract_of(box_model(tmp_path / "boxes.onnx")) is BOX_LIST
    assert contract_of(map_model(tmp_path / "map.onnx")) is PROBABILITY_MAP


@pytest.mark.parametrize(
    ("build", "said"),
    [
        (lambda p: map_model(p, dtype=TensorProto.FLOAT), "('image', 'FLOAT', 4)"),
        (lambda p: map_model(p, output="heatmap"), "('heatmap', 'FLOAT', 4)"),
        (lambda p: box_model(p, names=("boxes", "confidence")), "('confidence', 'FLOAT', 2)"),
    ],
)
def test_other_io_is_refused_with_what_differs(tmp_path: Path, build, said: str) -> None:
    with pytest.raises(DetectorModelError) as error:
        contract_of(build(tmp_path / "model.onnx"))
    assert said in str(error.value) and "('probability', 'FLOAT', 4)" in str(error.value)
    assert "('scores', 'FLOAT', 2)" in str(error.value)


def test_a_file_that_is_no_onnx_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(DetectorModelError, match="cannot read .*junk.onnx as ONNX"):
        contract_of(junk)


def test_the_test_call_checks_the_shapes(tmp_path: Path) -> None:
    check_runs(box_model(tmp_path / "boxes.onnx"), BOX_LIST)
    check_runs(map_model(tmp_path / "map.onnx"), PROBABILITY_MAP)
    with pytest.raises(DetectorModelError, match=r"wants boxes \[2, K, 4\] and scores \[2, K\]"):
        check_runs(box_model(tmp_path / "three.onnx", box_width=3), BOX_LIST)


def test_configs_declare_the_contract_tensors() -> None:
    configs = detector_configs("logo_boxes", BOX_LIST)
    assert set(configs) == {"config.pbtxt", "configs/cpu.pbtxt"}
    for text in configs.values():
        assert 'name: "logo_boxes"' in text and "max_batch_size: 8" in text
        assert '{ name: "image", data_type: TYPE_UINT8, dims: [ -1, -1, 3 ] }' in text
        assert '{ name: "boxes", data_type: TYPE_FP32, dims: [ -1, 4 ] }' in text
        assert '{ name: "scores", data_type: TYPE_FP32, dims: [ -1 ] }' in text
    assert 'backend: "detector_onnxruntime"' in configs["configs/cpu.pbtxt"]
    assert 'string_value: "box_list"' in configs["configs/cpu.pbtxt"]
    assert 'backend: "onnxruntime"' in configs["config.pbtxt"] and "KIND_GPU" in configs["config.pbtxt"]


def test_add_lays_the_model_out_and_up_would_load_it(tmp_path: Path) -> None:
    repository = Path(tmp_path / "repo")
    repository.mkdir()
    source = box_model(tmp_path / "boxes.onnx")
    assert add_detector(repository, "logo_boxes", source) is BOX_LIST
    models = ModelRepository(repository, "logo_boxes")
    assert models.exported_versions() == [1] and (models.model_dir / "configs" / "cpu.pbtxt").is_file()
    boxes, scores = ort.InferenceSession(str(models.onnx_path(1))).run(
        None, {"image": np.zeros((1, 32, 32, 3), np.uint8)}
    )
    assert boxes[0, 0].tolist() == list(BOX) and scores[0].tolist() == pytest.approx([SCORE, 0.0])
    assert served_models(repository, ("logo_boxes",)) == ("lama", "logo_boxes")
    assert served_models(repository) == ("lama",)  # not named by DETECTORS: not loaded
    with pytest.raises(DetectorModelError, match="exists; pass --replace"):
        add_detector(repository, "logo_boxes", map_model(tmp_path / "map.onnx"))
    assert add_detector(repository, "logo_boxes", tmp_path / "map.onnx", replace=True) is PROBABILITY_MAP
    assert 'string_value: "probability_map"' in (models.model_dir / "configs" / "cpu.pbtxt").read_text()


@pytest.mark.parametrize("name", ["lama", "templates", "../up", ""])
def test_reserved_and_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(DetectorModelError, match="model name"):
        add_detector(tmp_path, name, box_model(tmp_path / "boxes.onnx"))
    assert not any(tmp_path.glob("*/1"))


def test_the_command_says_what_is_wrong_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = map_model(tmp_path / "float.onnx", dtype=TensorProto.FLOAT)
    with pytest.raises(SystemExit) as exit_:
        main(["detector", "add", "mine", str(bad), "--repository", str(tmp_path / "repo")])
    assert "('image', 'FLOAT', 4)" in str(exit_.value.code)
    good = box_model(tmp_path / "boxes.onnx")
    assert main(["detector", "add", "mine", str(good), "--repository", str(tmp_path / "repo")]) == 0
    assert "added mine (box_list)" in capsys.readouterr().out
