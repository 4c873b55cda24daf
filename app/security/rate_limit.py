"""Per-client request rate limit: a token bucket per client in each API process.

The bucket holds `per_minute` requests and refills continuously, so a client may burst up to
its minute's allowance and then proceeds at the steady rate. Buckets live in the process: with
N workers a client that spreads its connections over all of them can reach N × the limit,
which the README states; the limit is a guard against runaway integrations, not a quota.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

QUOTA_KEY = "rate_limit_quota"  # where a request's Quota waits in RequestContext.extra


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    MAX_TRACKED = 100_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def acquire(self, key: str) -> int:
        """0 when the request may go ahead, else the seconds to wait (for Retry-After)."""
        if not self.enabled:
            return 0
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_TRACKED:
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def quota(self, key: str) -> Quota | None:
        """What is left of `key`'s allowance after its last request; None when the limit is off."""
        bucket = self._buckets.get(key)
        if not self.enabled or bucket is None:
            return None
        return Quota(
            limit=int(self.capacity),
            remaining=int(bucket.tokens),
            reset_seconds=math.ceil((self.capacity - bucket.tokens) / self.rate),
        )


@dataclass(frozen=True, slots=True)
class Quota:
    """A client's allowance as the IETF draft's `RateLimit-*` headers state it."""

    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_seconds).encode()),
            (b"ratelimit-policy", f"{self.limit};w=60".encode()),
        ]
