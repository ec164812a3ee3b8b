"""A closed-loop async load generator: N workers, each sending its next request as soon as
its previous one returns, bounded by a request count and a wall-clock budget.

Used for the gateway and for direct Triton calls alike, so both are measured the same way.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np


class RequestFailed(Exception):
    """A request got an answer that is not a success; `str(error)` labels it (e.g. HTTP 503)."""


@dataclass
class LoadResult:
    concurrency: int
    wall_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, object]:
        """Throughput counts successes only; percentiles are over successful requests."""
        p50, p90, p99 = (
            np.percentile(self.latencies_s, [50, 90, 99]) * 1000 if self.latencies_s else (float("nan"),) * 3
        )
        return {
            "concurrency": self.concurrency,
            "ok": len(self.latencies_s),
            "errors": sum(self.errors.values()),
            "throughput_per_s": round(len(self.latencies_s) / self.wall_s, 3) if self.wall_s else 0.0,
            "p50_ms": round(float(p50), 2),
            "p90_ms": round(float(p90), 2),
            "p99_ms": round(float(p99), 2),
            "error_kinds": "; ".join(f"{kind}: {n}" for kind, n in self.errors.most_common()),
        }


async def closed_loop(
    send: Callable[[int], Awaitable[object]], concurrency: int, max_requests: int, max_seconds: float
) -> LoadResult:
    """Call `send(i)` for i = 0, 1, ... from `concurrency` workers until `max_requests` were
    started or `max_seconds` passed (requests in flight then still finish and count)."""
    result, indexes = LoadResult(concurrency), itertools.count()
    start = time.perf_counter()
    deadline = start + max_seconds

    async def worker() -> None:
        while time.perf_counter() < deadline and (index := next(indexes)) < max_requests:
            sent = time.perf_counter()
            try:
                await send(index)
            except Exception as error:
                result.errors[str(error) if isinstance(error, RequestFailed) else type(error).__name__] += 1
            else:
                result.latencies_s.append(time.perf_counter() - sent)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.wall_s = time.perf_counter() - start
    return result
