"""The closed-loop load generator: bounds, concurrency and error accounting."""

from __future__ import annotations

import asyncio

from lama_serve.bench.load import RequestFailed, closed_loop


def test_request_bound_errors_and_concurrency_are_counted() -> None:
    in_flight, peak = 0, 0

    async def send(index: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        if index % 5 == 0:
            raise RequestFailed("HTTP 503")
        if index % 7 == 0:
            raise TimeoutError

    result = asyncio.run(closed_loop(send, concurrency=3, max_requests=20, max_seconds=10))
    summary = result.summary()
    assert peak == 3
    assert summary["ok"] + summary["errors"] == 20
    assert result.errors == {"HTTP 503": 4, "TimeoutError": 2}
    assert summary["error_kinds"] == "HTTP 503: 4; TimeoutError: 2"
    assert summary["p50_ms"] <= summary["p90_ms"] <= summary["p99_ms"]


def test_time_bound_stops_starting_requests() -> None:
    async def send(_: int) -> None:
        await asyncio.sleep(0.05)

    result = asyncio.run(closed_loop(send, concurrency=2, max_requests=10_000, max_seconds=0.2))
    assert 2 <= len(result.latencies_s) <= 12
    assert result.wall_s < 1.0
