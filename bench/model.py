"""`lama-serve bench model`: PyTorch eager (torch.fft, what the seed service runs) versus
ONNX Runtime on the exported graph, same weights, same inputs, same threads, one run."""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    # heavy imports here: registering the parser must not need torch (gateway images lack it)
    import numpy as np
    import onnxruntime as ort
    import torch

    from bench.results import median_seconds, plot_lines, write_rows
    from export.arch import get_arch
    from export.checkpoint import random_generator
    from export.onnx_export import deployable_graph, export_onnx, reference_graph
    from export.parity import random_inputs

    torch.set_num_threads(args.threads)
    loaded = random_generator(get_arch(args.arch), seed=0)
    eager = reference_graph(loaded.generator)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(deployable_graph(loaded.generator), Path(tmp) / "model.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    rows = []
    for size in args.sizes:
        image, mask = random_inputs((1, size, size), np.random.default_rng(size))
        feeds = {"image": image, "mask": mask}
        timed_image, timed_mask = torch.from_numpy(image), torch.from_numpy(mask)
        with torch.no_grad():
            eager_s = median_seconds(lambda: eager(timed_image, timed_mask), args.runs)
        ort_s = median_seconds(lambda: session.run(None, feeds), args.runs)
        rows.append({"arch": args.arch, "size": size, "batch": 1, "threads": args.threads,
                     "eager_s": round(eager_s, 4), "onnxruntime_s": round(ort_s, 4),
                     "speedup": round(eager_s / ort_s, 3)})
        print(f"{args.arch} {size}x{size} batch 1: eager {eager_s:.3f} s, ONNX Runtime {ort_s:.3f} s, "
              f"ORT is {eager_s / ort_s:.2f}x faster (median of {args.runs})", flush=True)
    write_rows(args.out, "model", rows, {"random_weights": True, "runs": args.runs})
    plot_lines(args.out / "model.png", f"{args.arch}, batch 1, {args.threads} threads", "side (px)",
               "latency (s)", {"PyTorch eager": ([r["size"] for r in rows], [r["eager_s"] for r in rows]),
                               "ONNX Runtime": ([r["size"] for r in rows], [r["onnxruntime_s"] for r in rows])})
    print(f"results in {args.out}/model.csv, model.json, model.png (random weights: speed only)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model", help="PyTorch eager vs ONNX Runtime latency")
    parser.add_argument("--arch", choices=["big-lama", "tiny"], default="big-lama")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    parser.set_defaults(func=run)
