"""`lama-serve detector`: train the watermark segmenter; lay the detector models out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lama_serve.core.arg_types import COUNT, MODEL_VERSION, share
from lama_serve.core.contract import DETECTOR_MODELS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("detector", help="watermark detector models (train, export, add)")
    commands = parser.add_subparsers(dest="detector_command", required=True)

    train = commands.add_parser(
        "train",
        help="train the watermark segmenter on synthetic composites (CPU)",
        description="Train the small U-Net segmenter on synthetic watermark composites and "
        "write its served ONNX graph plus a JSON recipe. Same seed and steps: "
        "same weights on the same machine.",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--steps", type=COUNT, default=300, help="optimiser steps")
    train.add_argument("--minutes", type=float, default=7.0, help="wall-time cap; a run cut short is not reproducible")
    train.add_argument("--threads", type=COUNT, default=2, help="torch CPU threads")
    train.add_argument("--pool", type=COUNT, default=None, help="composites drawn once (default: TrainConfig's)")
    train.add_argument(
        "--jpeg", type=share, default=None, help="share of composites JPEG-compressed (default: TrainConfig's)"
    )
    train.add_argument(
        "--output",
        type=Path,
        default=None,
        help="ONNX file (default: the committed lama_serve/detect/weights/watermark_seg.onnx)",
    )
    train.set_defaults(func=run_train)

    export = commands.add_parser(
        "export",
        help="write watermark_text and watermark_seg into a model repository",
        description="Lay out DIR/watermark_text/V/model.onnx (PP-OCRv4 text detector from the "
        "installed rapidocr_onnxruntime wheel, normalisation baked in) and "
        "DIR/watermark_seg/V/model.onnx (the committed segmenter), with configs.",
    )
    export.add_argument("--repository", type=Path, default=Path("model_repository"))
    export.add_argument("--model-version", type=MODEL_VERSION, default=1)
    export.add_argument(
        "--model",
        action="append",
        choices=DETECTOR_MODELS,
        dest="models",
        help="only this detector model (repeatable; default: all)",
    )
    export.set_defaults(func=run_export)

    add = commands.add_parser(
        "add",
        help="check an ONNX detector of your own and put it into a model repository",
        description="Check that FILE follows a detector contract (a probability map, or scored boxes: "
        "core/contract.py), run it once, then write DIR/NAME/V/model.onnx with its Triton configs "
        "(GPU and CPU). Enable it by adding NAME to DETECTORS; `lama-serve up` then loads it.",
    )
    add.add_argument("name", help="model name in the repository (letters, digits, _ . -)")
    add.add_argument("file", type=Path, help="the ONNX file")
    add.add_argument("--repository", type=Path, default=Path("model_repository"))
    add.add_argument("--model-version", type=MODEL_VERSION, default=1)
    add.add_argument("--replace", action="store_true", help="overwrite an existing version")
    add.set_defaults(func=run_add)


def run_train(args: argparse.Namespace) -> int:
    from lama_serve.export.detector_train import WEIGHTS, TrainConfig, train_and_export

    given = {name: getattr(args, name) for name in ("pool", "jpeg") if getattr(args, name) is not None}
    config = TrainConfig(seed=args.seed, steps=args.steps, minutes=args.minutes, threads=args.threads, **given)
    output = args.output or WEIGHTS
    metadata = train_and_export(config, output, progress=lambda msg: print(msg, flush=True))
    print(
        f"wrote {output} ({metadata['onnx_bytes'] / 1e6:.1f} MB, {metadata['parameters']} parameters, "
        f"{metadata['steps_done']} steps in {metadata['seconds']} s)"
    )
    if not metadata["completed"]:
        print("WARNING: stopped by --minutes before --steps; not reproducible", file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from lama_serve.export.detectors import export_detector

    for name in args.models or DETECTOR_MODELS:
        try:
            print(f"wrote {export_detector(args.repository, name, args.model_version)}")
        except OSError as error:  # an unwritable or missing place: say where, no traceback
            raise SystemExit(f"cannot write {name} into {args.repository}: {error}") from error
    return 0


def run_add(args: argparse.Namespace) -> int:
    from lama_serve.export.detector_add import DetectorModelError, add_detector

    try:
        contract = add_detector(args.repository, args.name, args.file, args.model_version, args.replace)
    except DetectorModelError as error:
        raise SystemExit(str(error)) from error
    except OSError as error:  # an unwritable or missing place: say where, no traceback
        raise SystemExit(f"cannot add {args.name} into {args.repository}: {error}") from error
    print(
        f"added {args.name} ({contract.name}) to {args.repository}; enable it: "
        f"DETECTORS=watermark_text,watermark_seg,templates,{args.name} (then restart `lama-serve up`)"
    )
    return 0
