"""The shared argument types: a count, side or model version that cannot work is refused
when the command line is parsed, with what to give instead; every command uses them."""

from __future__ import annotations

import argparse

import pytest

from lama_serve.cli import build_parser
from lama_serve.core.arg_types import COUNT, MODEL_VERSION, SIDE, SKIPPABLE_COUNT, at_least, share
from lama_serve.core.contract import MIN_SIDE


def test_at_least_takes_whole_numbers_from_its_least_and_says_what_to_give() -> None:
    assert COUNT("1") == 1 and SKIPPABLE_COUNT("0") == 0 and SIDE(str(MIN_SIDE)) == MIN_SIDE
    with pytest.raises(argparse.ArgumentTypeError, match="give at least 1$"):
        COUNT("0")
    with pytest.raises(argparse.ArgumentTypeError, match=f"give at least {MIN_SIDE} px"):
        SIDE(str(MIN_SIDE - 1))
    with pytest.raises(argparse.ArgumentTypeError, match="not a whole number"):
        COUNT("2.5")
    with pytest.raises(argparse.ArgumentTypeError, match="give at least 1: Triton ignores version folders named 0"):
        MODEL_VERSION("0")


def test_or_zero_takes_zero_to_skip_and_refuses_what_lies_between() -> None:
    shared = at_least(3, " images", or_zero=True)
    assert shared("0") == 0 and shared("3") == 3
    for bad in ("1", "2", "-1"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"at least 3 images \(or 0 to skip it\)"):
            shared(bad)


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "detect", "--per-kind", "0"],
        ["bench", "detect", "--shared", "2"],
        ["bench", "detect", "--runs", "-1"],
        ["bench", "detect", "--user-marks", "-3"],
        ["bench", "model", "--sizes", "512", "8"],
        ["bench", "triton", "--request-count", "0"],
        ["bench", "gateway", "--concurrency", "1", "0"],
        ["bench", "crop", "--hole", "0"],
        ["export", "--model-version", "0"],
        ["detector", "export", "--model-version", "0"],
        ["detector", "train", "--steps", "0"],
        ["detector", "train", "--threads", "0"],
        ["rollout", "--model-version", "0"],
    ],
)
def test_each_command_refuses_a_value_that_cannot_work(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2 and "too small" in capsys.readouterr().err


def test_a_share_is_a_fraction_from_0_to_1() -> None:
    assert share("0") == 0.0 and share("0.4") == 0.4 and share("1") == 1.0
    for bad in ("-0.1", "1.5", "half"):
        with pytest.raises(argparse.ArgumentTypeError):
            share(bad)
