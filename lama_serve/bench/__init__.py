"""Benchmarks: numbers measured in one run on one machine, printed as ratios."""
