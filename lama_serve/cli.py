"""`lama-serve` dispatcher. Each package registers its own subcommand so that the CLI
mirrors the architecture: `export` (export/), `up` (serving/), `bench` (bench/)."""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# module path -> each module exposes `register(subparsers)` which sets `func` on its parser.
SUBCOMMAND_MODULES = ("export.cli", "serving.cli", "bench.cli", "rollout.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lama-serve", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
