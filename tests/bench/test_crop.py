"""`lama-serve bench crop` smoke run: the in-process gateway in front of the session's
tiny-model Triton, with a tiny budget."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from lama_serve.bench.crop import case_ratios
from lama_serve.cli import main
from lama_serve.triton.process import TritonProcess


def test_bench_crop_compares_strategies_and_reads_triton_batches(triton_server: TritonProcess, tmp_path: Path) -> None:
    assert (
        main(
            [
                "bench",
                "crop",
                "--url",
                triton_server.http_url,
                "--metrics-url",
                triton_server.metrics_url,
                "--size",
                "1280",
                "--hole",
                "64",
                "--plain-size",
                "256",
                "--runs",
                "1",
                "--concurrency",
                "3",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    with (tmp_path / "crop.csv").open(newline="") as f:
        rows = {row["case"]: row for row in csv.DictReader(f)}
    assert list(rows) == ["crop", "original", "plain", "crop concurrent"]
    assert all(row["errors"] == "0" for row in rows.values())
    assert (rows["crop"]["strategy"], rows["crop"]["windows"]) == ("crop", "1")
    assert (rows["original"]["strategy"], rows["original"]["windows"]) == ("original", "1")
    assert rows["plain"]["strategy"] == "original" and rows["plain"]["side"] == "256"
    assert float(rows["crop"]["avg_batch"]) == 1.0  # one request at a time
    for row in rows.values():  # the gateway's stage shares come from its own histograms
        assert float(row["triton_s"]) > 0 and float(row["decode_s"]) > 0
        assert 0 < float(row["gateway_share_of_model"]) < 100
    assert 1.0 <= float(rows["crop concurrent"]["avg_batch"]) <= 3.0
    ratios = json.loads((tmp_path / "crop.json").read_text())["ratios"]
    assert set(ratios) == {"original_over_crop", "crop_over_plain", "concurrent_crop_avg_batch"}
    assert ratios["original_over_crop"] > 0


def test_ratios_cover_the_cases_that_ran() -> None:
    rows = {
        "crop": {"median_s": 1.2},
        "plain": {"median_s": 1.0},
        "crop concurrent": {"median_s": 3.0, "avg_batch": 2.5},
    }
    assert case_ratios(rows) == {"crop_over_plain": 1.2, "concurrent_crop_avg_batch": 2.5}
