"""Per-key token buckets, in memory (one gateway process; buckets reset on restart).

A bucket that has refilled completely is the same as no bucket, so idle ones are dropped
(at most once per refill period): a flood from many client addresses leaves no table behind.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from lama_serve.gateway.errors import RateLimited


@dataclass(frozen=True)
class RateLimitState:
    """What the `X-RateLimit-*` headers report after one request."""

    limit: int
    remaining: int
    reset_at: int  # unix time at which the bucket is full again
    retry_after: int  # seconds until the next token; 0 when one is available

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if self.retry_after:
            headers["Retry-After"] = str(self.retry_after)
        return headers


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """`burst` requests at once, refilled at `per_minute`; `per_minute == 0` disables limiting."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._pruned = clock()

    def __len__(self) -> int:
        """Buckets held (idle full ones are pruned)."""
        return len(self._buckets)

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def acquire(self, key_id: str) -> RateLimitState:
        """Take one token for `key_id`; the state is returned even when limited (for headers)."""
        now = self._clock()
        self._prune(now)
        bucket = self._buckets.setdefault(key_id, _Bucket(float(self._burst), now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        return RateLimitState(
            limit=self._burst,
            remaining=math.floor(bucket.tokens),
            reset_at=math.ceil(time.time() + (self._burst - bucket.tokens) / self._rate),
            retry_after=0 if allowed else max(1, math.ceil((1.0 - bucket.tokens) / self._rate)),
        )

    def _prune(self, now: float) -> None:
        """Drop buckets full again by `now`; runs once per refill period (amortised O(1))."""
        refill_s = self._burst / self._rate if self.enabled else math.inf
        if now - self._pruned < refill_s:
            return
        self._pruned = now
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self._rate < self._burst
        }


def raise_if_limited(state: RateLimitState) -> None:
    if state.retry_after:
        raise RateLimited(
            f"Rate limit exceeded ({state.limit} requests burst). "
            f"Retry after {state.retry_after} s or ask the operator for a higher limit.",
            headers=state.headers(),
        )
