"""Benchmarks: numbers measured in one run on one machine, printed as ratios."""

from pathlib import Path

OUT = Path("results/bench")  # every bench's default --out (not committed: .gitignore)
