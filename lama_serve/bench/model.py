"""`lama-serve bench model`: PyTorch eager (torch.fft, what the seed service runs) versus
ONNX Runtime and OpenVINO (f32, and bf16 where the CPU has it) on the exported graph, same
weights, same inputs, same threads, one run, each with its inpainted-region difference from
fp32 eager (core.accuracy); with
`--triton`, the same file also through the bundled Triton (our Python-based ORT backend),
which gives Triton's overhead over calling ONNX Runtime in-process. ORT and Triton are timed
in a torch-free child process, eager in this one."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from lama_serve.bench import OUT
from lama_serve.core.accuracy import RegionDifference
from lama_serve.core.arg_types import COUNT, SIDE

Runner = Callable[[np.ndarray, np.ndarray], object]
CONFIGS = Path(__file__).resolve().parents[2] / "model_repository" / "lama"


@contextmanager
def triton_runner(repository: Path, ready_timeout: float) -> Iterator[Runner]:
    """Infer through the bundled Triton started on `repository` (CPU config, free ports)."""
    from lama_serve.core.contract import INPAINTED, MODEL_NAME
    from lama_serve.triton.client import SyncTriton, inpainting_inputs
    from lama_serve.triton.process import TritonProcess, free_port

    with TritonProcess(repository, http_port=free_port(), metrics_port=free_port()) as triton:
        triton.wait_ready(ready_timeout)
        client = SyncTriton(triton.http_url)

        def infer(image: np.ndarray, mask: np.ndarray) -> object:
            return client.infer(MODEL_NAME, "", inpainting_inputs(image, mask)).arrays[INPAINTED.name]

        try:
            yield infer
        finally:
            client.close()


def run(args: argparse.Namespace) -> int:
    # heavy imports here: registering the parser must not need torch (gateway images lack it)
    import multiprocessing

    import torch

    from lama_serve.bench.results import median_seconds, plot_lines, write_rows
    from lama_serve.core.accuracy import region_difference
    from lama_serve.export.arch import get_arch
    from lama_serve.export.checkpoint import random_generator
    from lama_serve.export.onnx_export import deployable_graph, export_onnx, reference_graph
    from lama_serve.export.parity import random_inputs

    torch.set_num_threads(args.threads)
    loaded = random_generator(get_arch(args.arch), seed=0)
    eager = reference_graph(loaded.generator)
    inputs = {size: random_inputs((1, size, size), np.random.default_rng(size)) for size in args.sizes}
    with tempfile.TemporaryDirectory() as tmp:
        repository = Path(tmp)
        shutil.copytree(CONFIGS, repository / "lama", ignore=shutil.ignore_patterns("[0-9]*"))
        export_onnx(deployable_graph(loaded.generator), repository / "lama" / "1" / "model.onnx")
        # ONNX Runtime and Triton are timed in a child without torch: torch's thread pool in
        # the same process slowed in-process ORT by ~15% here and skewed the comparison.
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            torch_free, outputs = pool.apply(time_torch_free, (repository, inputs, vars(args)))
    rows = []
    for size, (image, mask) in inputs.items():
        with torch.no_grad():
            eager_s = median_seconds(lambda: eager(torch.from_numpy(image), torch.from_numpy(mask)), args.runs)
            reference = eager(torch.from_numpy(image), torch.from_numpy(mask)).numpy()
        differences = {name: region_difference(reference, out, mask) for name, out in outputs[size].items()}
        rows.append(_row(args, size, {"eager": eager_s, **torch_free[size]}, differences))
    write_rows(args.out, "model", rows, {"random_weights": True, "runs": args.runs})
    sizes = [r["size"] for r in rows]
    names = ["eager", *torch_free[sizes[0]]]
    plot_lines(
        args.out / "model.png",
        f"{args.arch}, batch 1, {args.threads} threads",
        "side (px)",
        "latency (s)",
        {name: (sizes, [r[f"{name}_s"] for r in rows]) for name in names},
    )
    print(f"results in {args.out}/model.csv, model.json, model.png (random weights: speed only)")
    return 0


def time_torch_free(
    repository: Path, inputs: dict[int, tuple[np.ndarray, np.ndarray]], options: dict[str, object]
) -> tuple[dict[int, dict[str, float]], dict[int, dict[str, np.ndarray]]]:
    """Median seconds of in-process ONNX Runtime, OpenVINO f32/bf16 (and of Triton) per size,
    and each in-process runtime's output for the accuracy columns; runs in a child."""
    import onnxruntime as ort

    from lama_serve.backend.openvino_runtime import OpenVINORuntime
    from lama_serve.bench.results import median_seconds
    from lama_serve.core.cpu_precision import BF16, F32, host_precision

    session_options = ort.SessionOptions()
    session_options.intra_op_num_threads = int(options["threads"])
    session_options.inter_op_num_threads = 1  # as the Triton backend sets it
    session = ort.InferenceSession(
        str(repository / "lama" / "1" / "model.onnx"), session_options, providers=["CPUExecutionProvider"]
    )
    runners: dict[str, Runner] = {"onnxruntime": lambda i, m: session.run(None, {"image": i, "mask": m})[0]}
    model = repository / "lama" / "1" / "model.onnx"
    for precision in (F32, BF16) if host_precision()[0] == BF16 else (F32,):
        runners[f"openvino_{precision}"] = OpenVINORuntime(model, precision, int(options["threads"]))
    outputs = {
        size: {name: np.asarray(runner(image, mask)) for name, runner in runners.items()}
        for size, (image, mask) in inputs.items()
    }  # also each shape's first (slow) call
    with (
        triton_runner(repository, float(options["ready_timeout"])) if options["triton"] else nullcontext()
    ) as via_triton:
        if via_triton is not None:
            runners["triton"] = via_triton
        seconds = {
            size: {
                name: median_seconds(lambda: runner(image, mask), int(options["runs"]))
                for name, runner in runners.items()
            }  # interleaved per size: fair to drift
            for size, (image, mask) in inputs.items()
        }
    return seconds, outputs


def _row(
    args: argparse.Namespace, size: int, seconds: dict[str, float], differences: dict[str, RegionDifference]
) -> dict[str, object]:
    row: dict[str, object] = {
        "arch": args.arch,
        "size": size,
        "batch": 1,
        "threads": args.threads,
        **{f"{name}_s": round(value, 4) for name, value in seconds.items()},
    }
    row["eager_over_onnxruntime"] = round(seconds["eager"] / seconds["onnxruntime"], 3)
    line = (
        f"{args.arch} {size}x{size} batch 1 (median of {args.runs}): eager {seconds['eager']:.3f} s, "
        f"ONNX Runtime {seconds['onnxruntime']:.3f} s -> ORT {row['eager_over_onnxruntime']:.2f}x faster"
    )
    for name, difference in differences.items():
        row[f"{name}_mean_levels"], row[f"{name}_max_levels"] = round(difference.mean, 3), difference.max
        if name.startswith("openvino"):
            row[f"eager_over_{name}"] = round(seconds["eager"] / seconds[name], 3)
            line += f"; {name} {seconds[name]:.3f} s ({row[f'eager_over_{name}']:.2f}x eager)"
        line += f" [{name} vs fp32 eager: mean {difference.mean:.2f}, max {difference.max} levels]"
    if "triton" in seconds:
        row["triton_overhead_s"] = round(seconds["triton"] - seconds["onnxruntime"], 4)
        line += (
            f"; via Triton {seconds['triton']:.3f} s ({row['triton_overhead_s'] * 1000:+.0f} ms, "
            f"{seconds['triton'] / seconds['onnxruntime']:.3f}x in-process ORT)"
        )
    print(line, flush=True)
    return row


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model", help="PyTorch eager vs ONNX Runtime vs OpenVINO f32/bf16 (vs via Triton) latency and accuracy"
    )
    parser.add_argument("--arch", choices=["big-lama", "tiny"], default="big-lama")
    parser.add_argument(
        "--sizes",
        type=SIDE,
        nargs="+",
        default=[512, 1024],
        help="image sides (add 2048 for the full issue-16 table; big-lama takes minutes)",
    )
    parser.add_argument("--runs", type=COUNT, default=5)
    parser.add_argument("--threads", type=COUNT, default=os.cpu_count() or 1)
    parser.add_argument(
        "--triton", action="store_true", help="also time the same file through the bundled Triton (CPU config)"
    )
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.set_defaults(func=run)
