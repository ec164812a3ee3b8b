"""Argument types the benches share: counts and image sides are checked when the command line
is parsed, so a value that cannot work is one line from argparse that says what to give,
not a traceback minutes into a run (`--shared 0` used to fail after the whole labelled set)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from lama_serve.core.contract import MIN_SIDE


def at_least(least: int, unit: str = "", or_zero: bool = False) -> Callable[[str], int]:
    """An argparse `type`: a whole number of at least `least` (`unit` names it in the error);
    with `or_zero`, 0 is taken too (it turns the measurement off)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least and not (or_zero and value == 0):
            zero = " (or 0 to skip it)" if or_zero else ""
            raise argparse.ArgumentTypeError(f"{value} is too small: give at least {least}{unit}{zero}")
        return value

    return parse


COUNT = at_least(1)  # repetitions, requests, images, workers
SKIPPABLE_COUNT = at_least(0)  # 0 skips that part of the bench
SIDE = at_least(MIN_SIDE, " px")  # an image side the LaMa graph can take
