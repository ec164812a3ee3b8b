"""The export-time bf16 accuracy check: same gate as at load, recorded in export.json."""

import json
from pathlib import Path

import pytest

from lama_serve.cli import main as _run
from lama_serve.core.accuracy import MAX_MEAN_LEVELS
from lama_serve.core.cpu_precision import BF16, host_precision
from lama_serve.export.bf16_check import check_bf16, summary_line
from lama_serve.export.pipeline import export_to_repository

needs_bf16 = pytest.mark.skipif(host_precision()[0] != BF16, reason="this CPU has no amx_bf16/avx512_bf16")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    result = export_to_repository(tmp_path_factory.mktemp("repo"), 1, arch="tiny", seed=3, validate=False)
    return json.loads(result.metadata_path.read_text())


@needs_bf16
def test_export_records_the_bf16_figures(exported: dict) -> None:
    record = exported["bf16_accuracy"]
    assert record["status"] == "passed", record
    assert 0 <= record["mean_levels"] <= MAX_MEAN_LEVELS and record["bound_mean_levels"] == MAX_MEAN_LEVELS
    assert "gate_inputs" in record["inputs"]
    assert "passed" in summary_line(record) and "bound 1.5" in summary_line(record)


def test_a_host_without_bf16_records_skipped_with_the_reason(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    record = check_bf16(tmp_path / "never-opened.onnx", cpuinfo)
    assert record["status"] == "skipped" and "no bf16 units" in record["reason"]
    assert "skipped" in summary_line(record)


def test_the_flag_turns_the_check_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(
        [
            "export",
            "--random-weights",
            "--arch",
            "tiny",
            "--repository",
            str(tmp_path),
            "--no-validate",
            "--no-accuracy-check",
        ]
    )
    assert code == 0
    assert json.loads((tmp_path / "lama/1/export.json").read_text())["bf16_accuracy"] == {
        "status": "skipped",
        "reason": "--no-accuracy-check",
    }
    assert "bf16 accuracy check skipped: --no-accuracy-check" in capsys.readouterr().out
