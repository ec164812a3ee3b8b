"""`lama-serve weights fetch|inspect`: put the released checkpoint in the cache, or check a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lama_serve.core.cli_args import add_setting_flag, settings_from_args
from lama_serve.export.weights import MODELS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "weights",
        help="fetch the released big-lama weights (verified, cached) or inspect a checkpoint",
        description="See docs/export.md (Released weights).",
    )
    commands = parser.add_subparsers(dest="weights_command", required=True)
    fetch = commands.add_parser(
        "fetch",
        help="download (or reuse) the released checkpoint, verify size and digests",
        description="Download into the cache and verify; LAMA_MODEL_URL, LAMA_MODEL_MD5 and "
        "LAMA_MODEL_SHA256 point it at a mirror or an air-gapped copy.",
    )
    fetch.add_argument("--model", choices=sorted(MODELS), default="big-lama")
    add_setting_flag(fetch, "--cache", "weights_cache_dir", "cache folder", Path)
    fetch.set_defaults(func=run_fetch)
    inspect = commands.add_parser(
        "inspect",
        help="format, keys, parameters and digests of a checkpoint file",
        description="Exits 0 when the file loads as a LaMa generator, 1 otherwise.",
    )
    inspect.add_argument("file", type=Path)
    inspect.add_argument(
        "--trust-checkpoint", action="store_true", help="allow full unpickling of a Lightning checkpoint you trust"
    )
    inspect.set_defaults(func=run_inspect)


def run_fetch(args: argparse.Namespace) -> int:
    from lama_serve.export.weights import fetch, model_file

    settings = settings_from_args(args)
    fetched = fetch(
        model_file(settings, args.model),
        settings.weights_cache_dir,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(f"{fetched.path}\n  size {fetched.size:,} bytes\n  md5 {fetched.md5}\n  sha256 {fetched.sha256}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from lama_serve.export.errors import CheckpointError  # torch loads lazily
    from lama_serve.export.summary import summarize

    try:
        summary = summarize(args.file, args.trust_checkpoint)
    except CheckpointError as error:
        print(f"inspect failed: {error}", file=sys.stderr)
        return 1
    print("\n".join(summary.lines()))
    return 0 if summary.loads_as else 1
