"""Per-client request rate limit: a token bucket per client in one process, and what a charge says.

The bucket holds `per_minute` requests and refills continuously, so a client may burst up to
its minute's allowance and then proceeds at the steady rate. These buckets live in the process:
with N workers a client that spreads its connections over all of them can reach N × the limit
(3 processes let 172 of a 60/min limit through, issue 24). So this store serves SQLite (one
file, usually one process) and the anonymous limit; the per-client limit on PostgreSQL is kept
in the database, global across processes and hosts (app/security/rate_limit_store.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

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

    async def charge(self, key: str) -> Charge:
        """The guard's interface, shared with the database store (nothing here awaits)."""
        wait = self.acquire(key)
        return Charge(wait, self.quota(key))

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


class Limiter(Protocol):
    """What the guard needs of a per-client limiter, in the process or in the database."""

    @property
    def enabled(self) -> bool: ...

    async def charge(self, key: str) -> Charge:
        """Charge one request to `key`: whether it may go ahead and what is left of the allowance."""
        ...


@dataclass(frozen=True, slots=True)
class Charge:
    retry_after: int  # 0: the request may go ahead; else the seconds to wait (Retry-After)
    quota: Quota | None  # None when the limit is off


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
