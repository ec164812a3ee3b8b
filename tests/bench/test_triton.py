"""`lama-serve bench triton`: config override, summaries, and perf_analyzer smoke runs
against the tiny model (skipped, with the reason, where perf_analyzer cannot run)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lama_serve.bench.perf_analyzer import PerfAnalyzer, PerfAnalyzerError
from lama_serve.bench.triton import (
    batching_ratios,
    concurrency_levels,
    unbatched_copy,
    without_dynamic_batching,
)
from lama_serve.cli import main
from lama_serve.triton.process import TritonProcess

CPU_CONFIG = Path(__file__).resolve().parents[2] / "model_repository" / "lama" / "configs" / "cpu.pbtxt"
# Tiny budget: small windows, any spread accepted (the CI host is shared and noisy).
QUICK = [
    "--sizes",
    "64",
    "--concurrency-range",
    "1:2:1",
    "--samples",
    "2",
    "--request-count",
    "20",
    "--measurement-interval",
    "300",
    "--stability-percentage",
    "1000",
    "--max-trials",
    "10",
]


@pytest.fixture(scope="module")
def perf_analyzer() -> PerfAnalyzer:
    try:
        return PerfAnalyzer.locate()
    except PerfAnalyzerError as error:
        pytest.skip(f"perf_analyzer unavailable: {error}")


def test_without_dynamic_batching_drops_only_that_block() -> None:
    config = CPU_CONFIG.read_text()
    stripped = without_dynamic_batching(config)
    assert "dynamic_batching {" in config and "dynamic_batching {" not in stripped
    assert "default_queue_policy" not in stripped
    for kept in ("max_batch_size: 8", "instance_group", "model_warmup", 'backend: "lama_cpu"'):
        assert kept in stripped
    assert stripped.count("{") == stripped.count("}")
    with pytest.raises(ValueError, match="already runs without the batcher"):
        without_dynamic_batching(stripped)


def test_unbatched_copy_links_versions_and_rewrites_the_cpu_config(tiny_repository: Path, tmp_path: Path) -> None:
    copy = unbatched_copy(tiny_repository, tmp_path / "copy")
    assert (copy / "lama" / "1").is_symlink() and (copy / "lama" / "1" / "model.onnx").is_file()
    assert "dynamic_batching {" not in (copy / "lama" / "configs" / "cpu.pbtxt").read_text()
    assert "dynamic_batching {" in (tiny_repository / "lama" / "configs" / "cpu.pbtxt").read_text()


def test_concurrency_levels_and_ratios() -> None:
    assert list(concurrency_levels("1:8:1")) == list(range(1, 9))
    assert list(concurrency_levels("1:8")) == list(range(1, 9))
    assert list(concurrency_levels("1:8:7")) == [1, 8]
    with pytest.raises(SystemExit, match="START:END"):
        concurrency_levels("1,4,8")
    rows = [
        {"batching": mode, "size": 64, "concurrency": 4, "throughput_per_s": tput}
        for mode, tput in (("on", 30.0), ("off", 20.0))
    ]
    assert batching_ratios(rows) == [{"size": 64, "concurrency": 4, "on_over_off": 1.5}]


def _read(out: Path, name: str) -> list[dict[str, str]]:
    with (out / name).open(newline="") as f:
        return list(csv.DictReader(f))


def test_bench_triton_against_a_running_triton(
    perf_analyzer: PerfAnalyzer, triton_server: TritonProcess, tmp_path: Path
) -> None:
    assert (
        main(
            [
                "bench",
                "triton",
                "--url",
                triton_server.http_url,
                "--metrics-url",
                triton_server.metrics_url,
                "--out",
                str(tmp_path),
                *QUICK,
            ]
        )
        == 0
    )
    raw = _read(tmp_path, "triton_batching-on_64.csv")  # perf_analyzer's own CSV
    assert {"Concurrency", "Inferences/Second", "p99 latency"} <= set(raw[0])
    rows = _read(tmp_path, "triton.csv")
    assert [int(r["concurrency"]) for r in rows] == [1, 2]
    assert all(float(r["throughput_per_s"]) > 0 for r in rows)
    assert json.loads((tmp_path / "triton.json").read_text())["rows"][0]["size"] == 64
    assert (tmp_path / "triton.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # starts two bundled Tritons (~25 s)
def test_bench_triton_compares_batching_on_the_bundled_triton(
    perf_analyzer: PerfAnalyzer, tiny_repository: Path, tmp_path: Path
) -> None:
    assert (
        main(
            [
                "bench",
                "triton",
                "--repository",
                str(tiny_repository),
                "--batching",
                "both",
                "--ready-timeout",
                "60",
                "--out",
                str(tmp_path),
                *QUICK,
            ]
        )
        == 0
    )
    rows = _read(tmp_path, "triton.csv")
    assert {r["batching"] for r in rows} == {"on", "off"}
    ratios = json.loads((tmp_path / "triton.json").read_text())["batching_ratios"]
    assert [r["concurrency"] for r in ratios] == [1, 2] and all(r["on_over_off"] > 0 for r in ratios)


def test_batching_modes_other_than_on_need_the_bundled_triton() -> None:
    with pytest.raises(SystemExit, match="drop --url"):
        main(["bench", "triton", "--url", "127.0.0.1:9", "--batching", "off"])


def test_a_url_without_a_ready_triton_stops_before_measuring(capsys) -> None:
    """Nothing listens on the discard port: one line says what to do, before perf_analyzer runs."""
    with pytest.raises(SystemExit, match="no Triton answers ready at 127.0.0.1:9: start one"):
        main(["bench", "triton", "--url", "127.0.0.1:9", "--sizes", "64"])
