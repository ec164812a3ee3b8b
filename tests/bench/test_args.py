"""The benches' argument types: a count or side that cannot work is refused when the command
line is parsed, with what to give instead."""

from __future__ import annotations

import argparse

import pytest

from lama_serve.bench.args import COUNT, SIDE, SKIPPABLE_COUNT, at_least
from lama_serve.bench.detect_sets import shared_sets
from lama_serve.cli import build_parser
from lama_serve.core.contract import MIN_SIDE


def test_at_least_takes_whole_numbers_from_its_least_and_says_what_to_give() -> None:
    assert COUNT("1") == 1 and SKIPPABLE_COUNT("0") == 0 and SIDE(str(MIN_SIDE)) == MIN_SIDE
    with pytest.raises(argparse.ArgumentTypeError, match="give at least 1$"):
        COUNT("0")
    with pytest.raises(argparse.ArgumentTypeError, match=f"give at least {MIN_SIDE} px"):
        SIDE(str(MIN_SIDE - 1))
    with pytest.raises(argparse.ArgumentTypeError, match="not a whole number"):
        COUNT("2.5")


def test_or_zero_takes_zero_to_skip_and_refuses_what_lies_between() -> None:
    shared = at_least(3, " images", or_zero=True)
    assert shared("0") == 0 and shared("3") == 3
    for bad in ("1", "2", "-1"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"at least 3 images \(or 0 to skip it\)"):
            shared(bad)


@pytest.mark.parametrize(
    "argv",
    [
        ["detect", "--per-kind", "0"],
        ["detect", "--shared", "2"],
        ["detect", "--runs", "-1"],
        ["detect", "--user-marks", "-3"],
        ["model", "--sizes", "512", "8"],
        ["triton", "--request-count", "0"],
        ["gateway", "--concurrency", "1", "0"],
        ["crop", "--hole", "0"],
    ],
)
def test_each_bench_refuses_a_count_or_side_that_cannot_work(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["bench", *argv])
    assert exit_.value.code == 2 and "too small" in capsys.readouterr().err


def test_shared_zero_parses_and_skips_the_batch_rows() -> None:
    args = build_parser().parse_args(["bench", "detect", "--shared", "0", "--runs", "0"])
    assert args.shared == 0 and args.runs == 0
    assert shared_sets(args.shared, 64, seed=0) == []
