"""The access log as auditors read it: filtered entries, one child's report, its signed extract.

The routes (app/routers/access_log.py) bring the caller, the cursor and the response; the SQL is here.
Entries come in chain order (`seq`); a page is read with `limit + 1` rows so the route can tell
whether another page follows (app/http/paging.py `split_page`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.extract import build_extract
from app.audit.log_filters import LogFilters
from app.audit.queries import chain, chained_entries, log
from app.security.keys import KeyRing


async def _entries(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]], *, after: int | None, limit: int
) -> list[RowMapping]:
    statement = chained_entries().where(*conditions)
    if after is not None:
        statement = statement.where(chain.c.seq > after)
    rows = (await session.execute(statement.order_by(chain.c.seq).limit(limit + 1))).mappings().all()
    return list(rows)


async def filtered_entries(
    session: AsyncSession, filters: LogFilters, *, after: int | None, limit: int
) -> list[RowMapping]:
    """Up to `limit + 1` chained entries that match the filters, after seq `after`."""
    return await _entries(session, filters.conditions(), after=after, limit=limit)


async def child_entries(
    session: AsyncSession, child_id: uuid.UUID, *, after: int | None, limit: int
) -> list[RowMapping]:
    """Up to `limit + 1` chained entries about one child (its access report), after seq `after`."""
    return await _entries(session, [log.c.child_id == child_id], after=after, limit=limit)


async def child_extract(session: AsyncSession, keys: KeyRing, child_id: uuid.UUID) -> str:
    """The child's whole report as one signed extract, read in the session's transaction."""

    def build(sync: Any) -> str:
        return build_extract(sync.connection(), keys, child_id)

    return await session.run_sync(build)
