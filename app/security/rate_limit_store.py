"""The per-client rate limit kept in the database, so it holds across every API process and host.

GCRA (the generic cell rate algorithm, a token bucket written as one timestamp): each client has
a *theoretical arrival time* `tat`, the moment its allowance would be full again. A request at
`now` moves it to `max(tat, now) + T`, where `T = 60 s / limit`, and is allowed when that lies at
most a minute ahead of `now`: so a client may burst `limit` requests and then goes at the steady
rate, exactly as the process buckets do (app/security/rate_limit.py).

One request is charged in ONE statement, an upsert whose update only happens when the request
fits (`INSERT … ON CONFLICT (client_id) DO UPDATE … WHERE … RETURNING`), on the database's clock so
that processes with skewed clocks still agree. The row lock of the upsert serialises concurrent
charges of one client across processes; charges of different clients never wait on each other.
A refusal writes nothing; the same statement reads the row for its `Retry-After` (on SQLite,
which has no INSERT inside WITH, a second statement does).

The charge runs on its own autocommit connection, so it never joins, waits for or holds the
request's transaction. A database that cannot answer makes the request fail like any other
database failure (503, app/http/pipeline.py): never unlimited.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, bindparam, cast, exists, func, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import is_sqlite
from app.models.base import UTCDateTime, table_of, utcnow
from app.models.rate_limit import RateLimitBucket
from app.security.rate_limit import Charge, Limiter, Quota, RateLimiter
from app.settings import Settings

_buckets = table_of(RateLimitBucket)
WINDOW_US = 60_000_000  # the limit is per minute; a client may be at most this far ahead
_US = 1_000_000


def _now_us(dialect: str) -> ColumnElement[int]:
    """The database's clock in microseconds since the epoch (constant within one statement)."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", func.now()) * _US, BigInteger)
    # SQLite's 'now' is fixed for the whole statement; julianday has millisecond resolution.
    return cast((func.julianday("now") - 2440587.5) * 86_400 * _US, BigInteger)


class DatabaseRateLimiter:
    """`limit` requests per client per minute, shared by every process on this database."""

    def __init__(self, engine: AsyncEngine, per_minute: int) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.limit = per_minute
        # Rounded down, so `limit` steps never add up past the window: a burst of exactly `limit`
        # (at least 1 µs: beyond 60 million a minute the limit stops at that).
        self.emission_us = max(1, WINDOW_US // per_minute) if per_minute else 0
        self._charge, self._refusal = _statements(engine.dialect.name)

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    async def charge(self, key: str) -> Charge:
        if not self.enabled:
            return Charge(0, None)
        parameters: dict[str, Any] = {"client_id": key, "emission_us": self.emission_us, "wall": utcnow()}
        async with self._engine.connect() as connection:
            row = (await connection.execute(self._charge, parameters)).one_or_none()
            if row is None and self._refusal is not None:  # SQLite: refused; read the row for Retry-After
                row = (await connection.execute(self._refusal, parameters)).one_or_none()
        if row is not None and row.allowed:
            return Charge(0, self._quota(int(row.ahead_us)))
        # No row: refused, and the row was not visible to this statement (inserted by a concurrent
        # first charge) or lost since; the longest wait is the honest answer.
        ahead_us = WINDOW_US if row is None else int(row.ahead_us)
        wait = max(1, math.ceil((ahead_us + self.emission_us - WINDOW_US) / _US))
        return Charge(wait, Quota(limit=self.limit, remaining=0, reset_seconds=_seconds(ahead_us)))

    def _quota(self, ahead_us: int) -> Quota:
        return Quota(
            limit=self.limit,
            remaining=max(0, (WINDOW_US - ahead_us) // self.emission_us),
            reset_seconds=_seconds(ahead_us),
        )


def _seconds(ahead_us: int) -> int:
    return max(0, math.ceil(ahead_us / _US))


def _statements(dialect: str) -> tuple[Any, Any | None]:
    """The charge, answering `(allowed, ahead_us)`: whether the request fits and how far the
    client's `tat` lies ahead of now, in µs. On PostgreSQL one statement answers a refusal too;
    SQLite has no INSERT inside WITH, so there the upsert answers nothing when it refuses and the
    second statement reads the row."""
    now_us = _now_us(dialect)
    emission = bindparam("emission_us", type_=BigInteger)
    # PostgreSQL stamps the row with its own clock; SQLite with the process's, in the stored form
    # SQLAlchemy reads back (the column only tells an operator when a client last got through).
    stamp = func.now() if dialect == "postgresql" else bindparam("wall", type_=UTCDateTime)
    greatest = func.greatest if dialect == "postgresql" else func.max
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_buckets)
    next_tat = greatest(_buckets.c.tat_us, now_us) + emission
    charged = upsert.values(client_id=bindparam("client_id"), tat_us=now_us + emission, updated_at=stamp)
    charged = charged.on_conflict_do_update(
        index_elements=[_buckets.c.client_id],
        set_={"tat_us": next_tat, "updated_at": stamp},
        where=next_tat - literal(WINDOW_US, BigInteger) <= now_us,
    )
    # A refusal updates nothing, so the row as this statement's snapshot saw it is the current one
    # (bar a charge that committed in between, which only makes Retry-After a little short).
    current = select(literal(False).label("allowed"), (_buckets.c.tat_us - now_us).label("ahead_us")).where(
        _buckets.c.client_id == bindparam("client_id")
    )
    allowed = (literal(True).label("allowed"), (_buckets.c.tat_us - now_us).label("ahead_us"))
    if dialect != "postgresql":
        return charged.returning(*allowed), current
    cte = charged.returning(_buckets.c.tat_us).cte("charged")
    one_statement = union_all(
        select(literal(True).label("allowed"), (cte.c.tat_us - now_us).label("ahead_us")),
        current.where(~exists(select(cte.c.tat_us))),
    )
    return one_statement, None


def create_rate_limiter(settings: Settings, engine: AsyncEngine) -> Limiter:
    """The store `SAMHANDLING_RATE_LIMIT_STORE` names; by default the database on PostgreSQL and
    the process on SQLite, where a per-request write would queue every request behind SQLite's
    single writer for a limit that one process (the usual SQLite deployment) already keeps exact."""
    store = settings.rate_limit_store or ("process" if is_sqlite(settings.database_url) else "database")
    if store == "database":
        return DatabaseRateLimiter(engine, settings.rate_limit_per_minute)
    return RateLimiter(settings.rate_limit_per_minute)
