import json
from pathlib import Path

import pytest

from lama_serve.cli import main as _run


def test_export_command_writes_the_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(["export", "--random-weights", "--arch", "tiny", "--repository", str(tmp_path), "--model-version", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "WARNING: random weights" in out and "[4/4] parity check" in out
    assert json.loads((tmp_path / "lama/2/export.json").read_text())["version"] == 2


def test_export_command_reports_a_bad_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(
        ["export", "--checkpoint", str(tmp_path / "missing.ckpt"), "--arch", "tiny", "--repository", str(tmp_path)]
    )
    assert code == 1
    assert "export failed: checkpoint not found" in capsys.readouterr().err


def test_export_command_names_a_repository_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = _run(["export", "--random-weights", "--arch", "tiny", "--repository", str(blocker / "repo")])
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("export failed: ") and "Not a directory" in error and str(blocker / "repo") in error


def test_a_source_is_required() -> None:
    with pytest.raises(SystemExit):
        _run(["export", "--arch", "tiny"])
