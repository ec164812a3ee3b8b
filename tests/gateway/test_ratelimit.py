"""Token bucket arithmetic with a fake clock."""

from __future__ import annotations

import time

import pytest

from lama_serve.gateway.errors import RateLimited
from lama_serve.gateway.ratelimit import TokenBucketLimiter, raise_if_limited


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=3, clock=clock)  # 1 token / s
    remaining = [limiter.acquire("a").remaining for _ in range(3)]
    assert remaining == [2, 1, 0]
    limited = limiter.acquire("a")
    assert limited.retry_after == 1 and limited.remaining == 0
    assert limiter.acquire("b").remaining == 2  # keys are independent
    clock.now += 1.0
    assert limiter.acquire("a").retry_after == 0
    clock.now += 100.0
    assert limiter.acquire("a").remaining == 2  # never above the burst


def test_headers_and_reset_time() -> None:
    limiter = TokenBucketLimiter(per_minute=30, burst=2, clock=FakeClock())  # 0.5 token / s
    state = limiter.acquire("a")
    headers = state.headers()
    assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Remaining"] == "1"
    assert 0 < int(headers["X-RateLimit-Reset"]) - time.time() <= 3
    assert "Retry-After" not in headers
    limiter.acquire("a")
    limited = limiter.acquire("a")
    assert limited.headers()["Retry-After"] == "2"
    with pytest.raises(RateLimited) as caught:
        raise_if_limited(limited)
    assert caught.value.status_code == 429 and caught.value.headers["Retry-After"] == "2"


def test_zero_rate_disables() -> None:
    assert not TokenBucketLimiter(per_minute=0, burst=1).enabled


def test_idle_buckets_are_pruned_without_changing_answers() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=3, clock=clock)  # full again after 3 s
    for address in range(1000):
        limiter.acquire(f"ip:{address}")
    assert len(limiter) == 1000
    limiter.acquire("busy")
    limiter.acquire("busy")
    limiter.acquire("busy")
    clock.now += 2.5
    assert len(limiter) == 1001  # not a full refill period yet
    clock.now += 0.5
    assert limiter.acquire("busy").remaining == 2  # refilled to 3 within 3s, took one
    assert len(limiter) == 1  # every idle bucket was full again: dropped
    assert limiter.acquire("ip:7").remaining == 2  # as a fresh bucket would answer
