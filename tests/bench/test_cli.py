"""`lama-serve bench`: a bench part can be turned off with 0 where it says so."""

from __future__ import annotations

from lama_serve.bench.detect_sets import shared_sets
from lama_serve.cli import build_parser


def test_shared_zero_parses_and_skips_the_batch_rows() -> None:
    args = build_parser().parse_args(["bench", "detect", "--shared", "0", "--runs", "0"])
    assert args.shared == 0 and args.runs == 0
    assert shared_sets(args.shared, 64, seed=0) == []
