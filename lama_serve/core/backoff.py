"""Exponential backoff shared by the gateway's model reload and `up`'s Triton restarts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """Waits `first`, 2*first, 4*first ... capped at `longest`; `reset()` after a success."""

    first: float
    longest: float
    failures: int = 0

    def next_wait(self) -> float:
        """The wait before the next attempt, counting one more failure."""
        wait = min(self.longest, self.first * 2**self.failures)
        self.failures += 1
        return wait

    def reset(self) -> None:
        self.failures = 0
