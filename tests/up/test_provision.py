"""up.provision: LaMa is exported only when the repository has no version, loudly from random
weights, and a folder that is not a model repository is refused with what to set."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lama_serve.core.contract import MODEL_NAME
from lama_serve.core.repository import ModelRepository
from lama_serve.up import provision


def test_existing_export_is_served_as_is(copy_repository: Callable[[], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from lama_serve.export import pipeline as export_pipeline

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("must not export when a version exists")

    monkeypatch.setattr(export_pipeline, "export_to_repository", no_export)
    provision.ensure_model(copy_repository(), None)


def test_missing_model_is_exported_from_random_weights_loudly(
    copy_repository: Callable[[], Path], caplog: pytest.LogCaptureFixture
) -> None:
    repository = copy_repository()
    shutil.rmtree(repository / MODEL_NAME / "1")
    with caplog.at_level(logging.WARNING, logger=provision.LOGGER.name):
        provision.ensure_model(repository, None, arch="tiny")
    assert "RANDOM weights" in caplog.text and "LAMA_CHECKPOINT" in caplog.text
    assert ModelRepository(repository).exported_versions() == [1]
    metadata = json.loads((repository / MODEL_NAME / "1" / "export.json").read_text())
    assert metadata["checkpoint_sha256"] == "random"


def test_not_a_model_repository_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(provision.UpError, match="MODEL_REPOSITORY"):
        provision.ensure_model(tmp_path, None)
