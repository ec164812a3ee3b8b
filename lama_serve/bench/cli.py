"""`lama-serve bench <model|triton|gateway|crop|detect>`: each benchmark module registers its parser."""

from __future__ import annotations

import argparse

from lama_serve.bench import crop, detect, gateway, model, triton

BENCHES = (model, triton, gateway, crop, detect)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks that print ratios measured in one run")
    benches = parser.add_subparsers(dest="bench", required=True)
    for module in BENCHES:
        module.register(benches)
