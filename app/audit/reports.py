"""The access log as auditors read it: filtered entries, one child's report, its signed extract.

The routes (app/routers/access_log.py) bring the caller, the cursor and the response; the SQL is here.
Entries come in chain order (`seq`); a page is read with `limit + 1` rows so the route can tell
whether another page follows (app/http/paging.py `split_page`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.extract import build_extract
from app.audit.log_filters import LogFilters
from app.audit.queries import chain, chained_entries, log
from app.security.keys import KeyRing


async def _entries(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: int | None,
    limit: int,
    commit_order: bool = False,
) -> list[RowMapping]:
    """`commit_order`: page by the entries' (txid, id) — the same order as the chain's `seq`,
    since the sequencer links entries in that order (app/audit/sequencer.py) — so that a filter on
    one child reads one range of `ix_access_log_child_id_txid_id` and stops after `limit + 1`
    rows; ordered by `seq` the database walked the chain from its start and joined every link
    (4.9 M links for a hot child's page at 5 M entries, bench/child_report.py)."""
    statement = chained_entries().where(*conditions)
    if not commit_order:
        if after is not None:
            statement = statement.where(chain.c.seq > after)
        rows = (await session.execute(statement.order_by(chain.c.seq).limit(limit + 1))).mappings().all()
        return list(rows)
    if after is not None:
        place = await _commit_place(session, after)
        statement = statement.where(tuple_(log.c.txid, log.c.id) > place if place is not None else chain.c.seq > after)
    statement = statement.order_by(log.c.txid, log.c.id).limit(limit + 1)
    return list((await session.execute(statement)).mappings().all())


async def _commit_place(session: AsyncSession, seq: int) -> ColumnElement[Any] | None:
    """The (txid, id) of chain entry `seq`: where the page after it starts in commit order.

    A cursor names a chained entry (it is signed, and only chained entries are paged); should the
    entry be gone (a damaged log, which verification reports), None: page by `seq`, slower."""
    place = (
        await session.execute(
            select(log.c.txid, log.c.id)
            .select_from(chain.join(log, log.c.id == chain.c.entry_id))
            .where(chain.c.seq == seq)
        )
    ).first()
    return None if place is None else tuple_(literal(place.txid), literal(place.id))


async def filtered_entries(
    session: AsyncSession, filters: LogFilters, *, after: int | None, limit: int
) -> list[RowMapping]:
    """Up to `limit + 1` chained entries that match the filters, after seq `after`."""
    return await _entries(
        session, filters.conditions(), after=after, limit=limit, commit_order=filters.child_id is not None
    )


async def child_entries(
    session: AsyncSession, child_id: uuid.UUID, *, after: int | None, limit: int
) -> list[RowMapping]:
    """Up to `limit + 1` chained entries about one child (its access report), after seq `after`."""
    return await _entries(session, [log.c.child_id == child_id], after=after, limit=limit, commit_order=True)


async def child_extract(session: AsyncSession, keys: KeyRing, child_id: uuid.UUID) -> str:
    """The child's whole report as one signed extract, read in the session's transaction."""

    def build(sync: Any) -> str:
        return build_extract(sync.connection(), keys, child_id)

    return await session.run_sync(build)
