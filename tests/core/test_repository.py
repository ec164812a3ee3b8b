"""ModelRepository: one layout for every reader and writer; an empty folder becomes servable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lama_serve.core.errors import ConfigurationError
from lama_serve.core.repository import ExportManifest, ModelRepository


def test_layout_and_versions(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path)
    assert repository.exported_versions() == []
    for version in ("2", "10"):
        repository.version_dir(version).mkdir(parents=True)
        repository.onnx_path(version).write_bytes(b"onnx")
    repository.version_dir("3").mkdir()  # no model file: not an export
    for ignored in ("0", "07"):  # Triton loads no folder whose name starts with 0
        repository.version_dir(ignored).mkdir()
        repository.onnx_path(ignored).write_bytes(b"onnx")
    repository.retired_dir("1", "20260101T000000Z").mkdir()
    assert repository.exported_versions() == [2, 10]
    assert repository.onnx_path(2) == tmp_path / "lama" / "2" / "model.onnx"


def test_empty_folder_gets_the_project_configs(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path / "fresh")
    repository.ensure_configs()
    assert (tmp_path / "fresh" / "lama" / "config.pbtxt").is_file()
    assert (tmp_path / "fresh" / "lama" / "configs" / "cpu.pbtxt").is_file()


def test_missing_template_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MODEL_REPOSITORY"):
        ModelRepository(tmp_path).ensure_configs(template=tmp_path / "nowhere")


def test_manifest_round_trip_and_random_weights(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path)
    repository.version_dir(1).mkdir(parents=True)
    assert repository.manifest(1) is None and repository.manifest(None) is None
    ExportManifest({"arch": "tiny", "checkpoint_sha256": "random"}).write(repository.manifest_path(1))
    manifest = repository.manifest(1)
    assert manifest is not None and manifest.random_weights and manifest.arch == "tiny"
    repository.manifest_path(1).write_text(json.dumps({"checkpoint_sha256": "ab" * 32}))
    assert not repository.manifest(1).random_weights
