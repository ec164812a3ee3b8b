"""`lama-serve bench model`: PyTorch eager (torch.fft, what the seed service runs) versus
ONNX Runtime on the exported graph, same weights, same inputs, same threads, one run; with
`--triton`, the same file also through the bundled Triton (our Python-based ORT backend),
which gives Triton's overhead over calling ONNX Runtime in-process."""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

Runner = Callable[[np.ndarray, np.ndarray], object]
CONFIGS = Path(__file__).resolve().parents[1] / "model_repository" / "lama"


@contextmanager
def triton_runner(repository: Path, ready_timeout: float) -> Iterator[Runner]:
    """Infer through the bundled Triton started on `repository` (CPU config, free ports)."""
    import tritonclient.http as http

    from bench.triton import free_port
    from serving.process import TritonProcess

    with TritonProcess(repository, http_port=free_port(), metrics_port=free_port()) as triton:
        triton.wait_ready(ready_timeout)
        client = http.InferenceServerClient(triton.http_url, network_timeout=600.0)

        def infer(image: np.ndarray, mask: np.ndarray) -> object:
            inputs = [http.InferInput("image", list(image.shape), "UINT8"),
                      http.InferInput("mask", list(mask.shape), "UINT8")]
            inputs[0].set_data_from_numpy(image, binary_data=True)
            inputs[1].set_data_from_numpy(mask, binary_data=True)
            return client.infer("lama", inputs).as_numpy("inpainted")

        try:
            yield infer
        finally:
            client.close()


def run(args: argparse.Namespace) -> int:
    # heavy imports here: registering the parser must not need torch (gateway images lack it)
    import onnxruntime as ort
    import torch

    from bench.results import plot_lines, write_rows
    from export.arch import get_arch
    from export.checkpoint import random_generator
    from export.onnx_export import deployable_graph, export_onnx, reference_graph

    torch.set_num_threads(args.threads)
    loaded = random_generator(get_arch(args.arch), seed=0)
    eager = reference_graph(loaded.generator)
    with tempfile.TemporaryDirectory() as tmp:
        repository = Path(tmp)
        shutil.copytree(CONFIGS, repository / "lama", ignore=shutil.ignore_patterns("[0-9]*"))
        onnx_path = export_onnx(deployable_graph(loaded.generator), repository / "lama" / "1" / "model.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        runners: dict[str, Runner] = {
            "eager": lambda i, m: eager(torch.from_numpy(i), torch.from_numpy(m)),
            "onnxruntime": lambda i, m: session.run(None, {"image": i, "mask": m}),
        }
        with (triton_runner(repository, args.ready_timeout) if args.triton else _no_runner()) as via_triton:
            if via_triton is not None:
                runners["triton"] = via_triton
            rows = [_measure(runners, size, args) for size in args.sizes]
    write_rows(args.out, "model", rows, {"random_weights": True, "runs": args.runs})
    sizes = [r["size"] for r in rows]
    plot_lines(args.out / "model.png", f"{args.arch}, batch 1, {args.threads} threads", "side (px)",
               "latency (s)", {name: (sizes, [r[f"{name}_s"] for r in rows]) for name in runners})
    print(f"results in {args.out}/model.csv, model.json, model.png (random weights: speed only)")
    return 0


@contextmanager
def _no_runner() -> Iterator[None]:
    yield None


def _measure(runners: dict[str, Runner], size: int, args: argparse.Namespace) -> dict[str, object]:
    import torch

    from bench.results import median_seconds
    from export.parity import random_inputs

    image, mask = random_inputs((1, size, size), np.random.default_rng(size))
    row: dict[str, object] = {"arch": args.arch, "size": size, "batch": 1, "threads": args.threads}
    with torch.no_grad():
        for name, runner in runners.items():  # interleaving per size keeps host drift fair
            row[f"{name}_s"] = round(median_seconds(lambda: runner(image, mask), args.runs), 4)
    row["eager_over_onnxruntime"] = round(row["eager_s"] / row["onnxruntime_s"], 3)
    line = (f"{args.arch} {size}x{size} batch 1 (median of {args.runs}): eager {row['eager_s']:.3f} s, "
            f"ONNX Runtime {row['onnxruntime_s']:.3f} s -> ORT {row['eager_over_onnxruntime']:.2f}x faster")
    if "triton_s" in row:
        row["triton_overhead_s"] = round(row["triton_s"] - row["onnxruntime_s"], 4)
        line += (f"; via Triton {row['triton_s']:.3f} s (+{row['triton_overhead_s'] * 1000:.0f} ms, "
                 f"{row['triton_s'] / row['onnxruntime_s']:.3f}x in-process ORT)")
    print(line, flush=True)
    return row


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model", help="PyTorch eager vs ONNX Runtime (vs via Triton) latency")
    parser.add_argument("--arch", choices=["big-lama", "tiny"], default="big-lama")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--triton", action="store_true",
                        help="also time the same file through the bundled Triton (CPU config)")
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    parser.set_defaults(func=run)
