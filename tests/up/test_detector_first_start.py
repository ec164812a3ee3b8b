"""`up` exports the detector models a repository lacks; a failure never blocks start-up."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from lama_serve.core.contract import SEG_MODEL_NAME, TEXT_MODEL_NAME
from lama_serve.core.repository import ModelRepository, served_models
from lama_serve.export import detectors
from lama_serve.export.errors import TextDetectorSourceError
from lama_serve.up import provision


def test_first_start_exports_both_detectors(tiny_repository: Path, tmp_path: Path) -> None:
    repository = Path(shutil.copytree(tiny_repository, tmp_path / "repo"))
    provision.ensure_detectors(repository)
    assert served_models(repository) == ("lama", TEXT_MODEL_NAME, SEG_MODEL_NAME)
    assert (repository / TEXT_MODEL_NAME / "configs" / "cpu.pbtxt").is_file()


def test_a_failing_detector_export_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing_wheel(version_dir: Path) -> Path:
        raise TextDetectorSourceError("rapidocr_onnxruntime is not installed")

    monkeypatch.setitem(detectors.EXPORTERS, TEXT_MODEL_NAME, missing_wheel)
    with caplog.at_level(logging.WARNING, logger=provision.LOGGER.name):
        provision.ensure_detectors(tmp_path)
    assert "cannot export detector model watermark_text" in caplog.text
    assert not ModelRepository(tmp_path, TEXT_MODEL_NAME).exported_versions()
    assert ModelRepository(tmp_path, SEG_MODEL_NAME).exported_versions() == [1]


def test_a_segmenter_of_an_earlier_release_is_reported_not_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    provision.ensure_detectors(tmp_path)
    served = ModelRepository(tmp_path, SEG_MODEL_NAME).onnx_path(1)
    with caplog.at_level(logging.WARNING, logger=provision.LOGGER.name):
        provision.ensure_detectors(tmp_path)
    assert "not the segmenter this release ships" not in caplog.text
    served.write_bytes(b"an earlier release's graph")
    with caplog.at_level(logging.WARNING, logger=provision.LOGGER.name):
        provision.ensure_detectors(tmp_path)
    assert f"{served} is not the segmenter this release ships" in caplog.text
    assert "lama-serve detector export --model watermark_seg" in caplog.text
    assert served.read_bytes() == b"an earlier release's graph"
