"""Brute-force protection for client authentication at the token endpoint.

Per client_id (always on): after `limit` failed authentications within a minute, further
attempts get 429 until the oldest of those failures is a minute old. The failures are counted
from the access log itself — every failed attempt is logged before its 401 is sent — so the
limit holds across all API workers and hosts without any state of its own.

Per address (off by default): the same, counted in each process's memory.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import TooManyRequests
from app.models.audit import AccessLogEntry
from app.models.base import table_of, utcnow

WINDOW_SECONDS = 60
TOKEN_ROUTE = "/oauth/token"
_log = table_of(AccessLogEntry)


class LoginThrottle:
    def __init__(self, per_client: int, per_address: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_client = per_client
        self.per_address = per_address
        self._clock = clock
        self._address_failures: defaultdict[str, deque[float]] = defaultdict(deque)

    async def check(self, session: AsyncSession, client_id: str, address: str | None) -> None:
        """Raise 429 when this client_id (or address) is locked out right now."""
        self._check_address(address)
        now = utcnow()
        recent = (
            (
                await session.execute(
                    select(_log.c.at)
                    .where(
                        _log.c.client_id == client_id[:128],
                        _log.c.route == TOKEN_ROUTE,
                        _log.c.status_code == 401,
                        _log.c.at > now - timedelta(seconds=WINDOW_SECONDS),
                    )
                    .order_by(_log.c.at.desc())
                    .limit(self.per_client)
                )
            )
            .scalars()
            .all()
        )
        if len(recent) >= self.per_client:
            unlocked_at = recent[-1] + timedelta(seconds=WINDOW_SECONDS)
            wait = math.ceil((unlocked_at - now).total_seconds())
            raise TooManyRequests(wait, f"Too many failed authentications for this client; retry after {wait} s.")

    def record_failure(self, address: str | None) -> None:
        if self.per_address and address:
            self._address_failures[address].append(self._clock())

    def _check_address(self, address: str | None) -> None:
        if not self.per_address or not address:
            return
        failures = self._address_failures[address]
        horizon = self._clock() - WINDOW_SECONDS
        while failures and failures[0] <= horizon:
            failures.popleft()
        if len(failures) >= self.per_address:
            wait = math.ceil(failures[0] + WINDOW_SECONDS - self._clock())
            raise TooManyRequests(wait, f"Too many failed authentications from this address; retry after {wait} s.")
        if not failures:
            del self._address_failures[address]
