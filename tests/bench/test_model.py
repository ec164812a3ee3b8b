"""Smoke test of `lama-serve bench model` on the tiny model with a tiny budget."""

import csv
import json
from pathlib import Path

from lama_serve.cli import main


def test_bench_model_compares_eager_ort_and_triton(tmp_path: Path) -> None:
    code = main(
        [
            "bench",
            "model",
            "--arch",
            "tiny",
            "--sizes",
            "64",
            "--runs",
            "1",
            "--threads",
            "1",
            "--triton",
            "--ready-timeout",
            "120",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    (row,) = csv.DictReader((tmp_path / "model.csv").open())
    assert float(row["eager_s"]) > 0 and float(row["onnxruntime_s"]) > 0 and float(row["triton_s"]) > 0
    assert float(row["openvino_f32_s"]) > 0 and float(row["eager_over_openvino_f32"]) > 0
    # f32 runtimes match fp32 eager to rounding; bf16 (where the CPU has it) within the gate
    assert float(row["onnxruntime_mean_levels"]) < 0.1 and float(row["openvino_f32_mean_levels"]) < 0.1
    if "openvino_bf16_mean_levels" in row:
        assert float(row["openvino_bf16_mean_levels"]) <= 1.5
    assert json.loads((tmp_path / "model.json").read_text())["random_weights"] is True
    assert (tmp_path / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
