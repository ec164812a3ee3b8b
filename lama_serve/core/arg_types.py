"""Argument types the `lama-serve` commands share: counts, image sides and model versions are
checked when the command line is parsed, so a value that cannot work is one line from argparse
that says what to give, not a traceback minutes into a run (`bench detect --shared 0` failed
after the whole labelled set) nor a result that silently does nothing (`export --model-version
0` wrote a folder Triton never loads)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from lama_serve.core.contract import MIN_SIDE
from lama_serve.core.repository import MIN_VERSION


def at_least(least: int, unit: str = "", *, or_zero: bool = False, why: str = "") -> Callable[[str], int]:
    """An argparse `type`: a whole number of at least `least` (`unit` names it in the error,
    `why` says what a smaller one would do); with `or_zero`, 0 is taken too (it turns a
    measurement off)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least and not (or_zero and value == 0):
            zero = " (or 0 to skip it)" if or_zero else ""
            reason = f": {why}" if why else ""
            raise argparse.ArgumentTypeError(f"{value} is too small: give at least {least}{unit}{zero}{reason}")
        return value

    return parse


def share(text: str) -> float:
    """An argparse `type`: a fraction from 0 to 1 (a share of items treated some way)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not a share: give a number from 0 to 1")
    return value


COUNT = at_least(1)  # repetitions, requests, images, steps, threads
SKIPPABLE_COUNT = at_least(0)  # 0 skips that part of a bench
SIDE = at_least(MIN_SIDE, " px")  # an image side the LaMa graph can take
MODEL_VERSION = at_least(MIN_VERSION, why="Triton ignores version folders named 0")
