"""`lama-serve detector export`: both detector models written where asked; a place that cannot
be written is one line naming it, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from lama_serve.cli import main
from lama_serve.core.contract import DETECTOR_MODELS
from lama_serve.core.repository import ModelRepository


def test_export_writes_every_detector_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detector", "export", "--repository", str(tmp_path), "--model-version", "2"]) == 0
    for name in DETECTOR_MODELS:
        assert ModelRepository(tmp_path, name).exported_versions() == [2]
    assert capsys.readouterr().out.count("wrote ") == len(DETECTOR_MODELS)


def test_a_place_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit, match=f"cannot write {DETECTOR_MODELS[0]} into {blocker / 'repo'}"):
        main(["detector", "export", "--repository", str(blocker / "repo")])
