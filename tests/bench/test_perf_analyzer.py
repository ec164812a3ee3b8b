"""Locating perf_analyzer: a binary that cannot start is reported with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lama_serve.bench.perf_analyzer import PerfAnalyzer, PerfAnalyzerError, read_csv


def test_a_binary_missing_its_libraries_is_reported_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "perf_analyzer"
    fake.write_text("#!/bin/sh\necho 'error while loading shared libraries: libb64.so.0d' >&2\nexit 127\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PERF_ANALYZER", str(fake))
    with pytest.raises(PerfAnalyzerError, match=r"libb64\.so\.0d.*apt-get install libb64-0d"):
        PerfAnalyzer.locate()


def test_read_csv_keeps_numbers_and_drops_empty_metric_cells(tmp_path: Path) -> None:
    path = tmp_path / "pa.csv"
    path.write_text("Concurrency,Inferences/Second,p50 latency,Avg GPU Utilization\n2,10.5,1200,\n")
    assert read_csv(path) == [{"Concurrency": 2.0, "Inferences/Second": 10.5, "p50 latency": 1200.0}]
