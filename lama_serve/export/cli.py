"""`lama-serve export`: checkpoint (or random weights) -> Triton model repository."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lama_serve.core.arg_types import MODEL_VERSION
from lama_serve.core.settings import load_settings
from lama_serve.export.weights import MODELS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export big-lama to ONNX in the model repository (parity-checked)",
        description="Export the LaMa generator to DIR/lama/V/model.onnx with export.json; "
        "a parity check against PyTorch eager runs after every export.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="LaMa best.ckpt or IOPaint big-lama.pt")
    source.add_argument(
        "--fetch",
        metavar="MODEL",
        choices=sorted(MODELS),
        help="the released weights, fetched into WEIGHTS_CACHE_DIR and verified (`lama-serve weights fetch`)",
    )
    source.add_argument(
        "--random-weights",
        action="store_true",
        help="random weights (outputs are not meaningful; for tests and benchmarks)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --random-weights")
    parser.add_argument("--arch", choices=["big-lama", "tiny"], default="big-lama")
    parser.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
    parser.add_argument("--repository", type=Path, default=Path("model_repository"))
    parser.add_argument("--model-version", type=MODEL_VERSION, default=1)
    parser.add_argument(
        "--no-validate", dest="validate", action="store_false", help="skip the parity check (debugging only)"
    )
    parser.add_argument(
        "--no-accuracy-check",
        dest="accuracy_check",
        action="store_false",
        help="skip the bf16 vs f32 accuracy check (OpenVINO, where the CPU has bf16)",
    )
    parser.add_argument(
        "--trust-checkpoint", action="store_true", help="allow full unpickling of a Lightning checkpoint you trust"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lama_serve.export.errors import ExportError  # torch loads lazily: `lama-serve --help` stays fast
    from lama_serve.export.pipeline import export_to_repository
    from lama_serve.export.weights import fetch, model_file

    def progress(message: str) -> None:
        print(message, flush=True)

    try:
        fetched = None
        if args.fetch:
            settings = load_settings()
            fetched = fetch(model_file(settings, args.fetch), settings.weights_cache_dir, progress)
        result = export_to_repository(
            args.repository,
            args.model_version,
            arch=args.arch,
            checkpoint=args.checkpoint,
            seed=args.seed,
            precision=args.precision,
            validate=args.validate,
            trust_checkpoint=args.trust_checkpoint,
            progress=progress,
            fetched=fetched,
            accuracy_check=args.accuracy_check,
        )
    except (ExportError, OSError) as exc:  # OSError: a repository place that cannot be written
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    meta = result.metadata
    print(f"wrote {result.onnx_path} ({meta['onnx_bytes'] / 1e6:.1f} MB) in {meta['seconds']} s")
    return 0
