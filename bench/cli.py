"""`lama-serve bench <model|...>`: each benchmark module registers its own parser."""
from __future__ import annotations

import argparse
import importlib

BENCH_MODULES = ("bench.model", "bench.triton", "bench.gateway", "bench.crop")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks that print ratios measured in one run")
    benches = parser.add_subparsers(dest="bench", required=True)
    for name in BENCH_MODULES:
        importlib.import_module(name).register(benches)
