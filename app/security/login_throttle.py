"""Brute-force protection for client authentication at the token endpoint.

Three limits, each over the last minute:
- per client_id *and source address* (`SAMHANDLING_AUTH_FAILURES_PER_MINUTE`, 10): a guesser
  somewhere else cannot lock the real system out — its own address has not failed;
- per client_id across all sources (`…_PER_CLIENT_PER_MINUTE`, 100): stops guessing that is
  spread over many addresses;
- per source address across client ids (`…_PER_ADDRESS_PER_MINUTE`, off by default).

An attempt is *reserved* — a row in `auth_attempts`, counted and inserted in one short
transaction — before its secret is checked, and the row is deleted again once the secret proved
right. So concurrent guesses count from the moment they arrive: of 40 guesses sent at once only
`limit` reach argon2 (counting only finished failures let 22 of 40 through on SQLite and all 40
on PostgreSQL). The count-and-insert is serialised per client_id (and per address when that
limit is on): on PostgreSQL by transaction-scoped advisory locks, which hold across every API
process and host; on SQLite by its single writer (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.errors import TooManyRequests
from app.models.base import table_of, utcnow
from app.models.login import AuthAttempt

WINDOW = timedelta(seconds=60)
# Advisory-lock namespace (the two-key form, apart from the sequencer's one-key lock).
_LOCK_NAMESPACE = 7214
_attempts = table_of(AuthAttempt)


def address_key(address: str | None) -> str:
    return hashlib.sha256((address or "unknown").encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Reservation:
    attempt_id: int


@dataclass(frozen=True, slots=True)
class _Limit:
    limit: int
    condition: ColumnElement[bool]
    message: str


class LoginThrottle:
    def __init__(
        self, engine: AsyncEngine, *, per_client_and_address: int, per_client: int, per_address: int = 0
    ) -> None:
        self._engine = engine.execution_options(sqlite_write=True)
        self.per_client_and_address = per_client_and_address
        self.per_client = per_client
        self.per_address = per_address

    async def reserve(self, client_key: str, address: str | None) -> Reservation:
        """Count this attempt in, or raise 429 when a limit is reached (nothing is reserved then)."""
        source = address_key(address)
        async with self._engine.begin() as connection:
            await self._serialise(connection, client_key, source)
            now = utcnow()
            # This client's expired rows go here; the worker sweeps those of ids never seen again.
            await connection.execute(
                delete(_attempts).where(_attempts.c.client_key == client_key, _attempts.c.at <= now - WINDOW)
            )
            for limit in self._limits(client_key, source):
                await _enforce(connection, limit, now)
            inserted = await connection.execute(
                insert(_attempts).values(client_key=client_key, address_key=source, at=now).returning(_attempts.c.id)
            )
            return Reservation(int(inserted.scalar_one()))

    async def release(self, reservation: Reservation) -> None:
        """The secret was right: the attempt is no failure."""
        async with self._engine.begin() as connection:
            await connection.execute(delete(_attempts).where(_attempts.c.id == reservation.attempt_id))

    def _limits(self, client_key: str, source: str) -> list[_Limit]:
        limits = [
            _Limit(
                self.per_client_and_address,
                (_attempts.c.client_key == client_key) & (_attempts.c.address_key == source),
                "Too many failed authentications for this client from this address",
            ),
            _Limit(
                self.per_client,
                _attempts.c.client_key == client_key,
                "Too many failed authentications for this client",
            ),
        ]
        if self.per_address:
            limits.append(
                _Limit(
                    self.per_address,
                    _attempts.c.address_key == source,
                    "Too many failed authentications from this address",
                )
            )
        return limits

    async def _serialise(self, connection: AsyncConnection, client_key: str, source: str) -> None:
        if connection.dialect.name != "postgresql":
            return  # SQLite: the transaction began with BEGIN IMMEDIATE, the one writer at a time
        keys = [client_key] + ([f"address:{source}"] if self.per_address else [])
        for key in keys:  # always in this order, so two attempts never wait for each other in a cycle
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))"),
                {"namespace": _LOCK_NAMESPACE, "key": key},
            )


async def _enforce(connection: AsyncConnection, limit: _Limit, now: datetime) -> None:
    """429 when `limit.limit` attempts matching the condition lie within the window."""
    recent = (
        (
            await connection.execute(
                select(_attempts.c.at)
                .where(limit.condition, _attempts.c.at > now - WINDOW)
                .order_by(_attempts.c.at.desc())
                .limit(limit.limit)
            )
        )
        .scalars()
        .all()
    )
    if len(recent) >= limit.limit:
        wait = max(1, math.ceil((recent[-1] + WINDOW - now).total_seconds()))
        raise TooManyRequests(wait, f"{limit.message}; retry after {wait} s.")


async def forget_old_attempts(engine: AsyncEngine) -> None:
    """Delete attempts older than the window (the worker's schedule)."""
    async with engine.execution_options(sqlite_write=True).begin() as connection:
        await connection.execute(delete(_attempts).where(_attempts.c.at <= utcnow() - WINDOW))
