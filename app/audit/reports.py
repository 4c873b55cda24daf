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
from app.audit.queries import CHAIN_TO_LOG, chain, chained_entries, entries_with_links, log
from app.security.keys import KeyRing


async def _entries(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: int | None,
    limit: int,
    child_id: uuid.UUID | None = None,
) -> list[RowMapping]:
    """With `child_id` (the conditions hold `log.c.child_id == child_id`): pages in the entries'
    commit order (txid, id), which is the chain's `seq` order — the sequencer links entries in
    that order (app/audit/sequencer.py) — so that a page is one range of
    `ix_access_log_child_id_txid_id` and stops after `limit + 1` rows. Ordered by `seq`, the
    database walked the chain from its start (4.9 M links for a hot child's page at 5 M
    entries; bench/child_report.py)."""
    statement = (chained_entries() if child_id is None else entries_with_links()).where(*conditions)
    if child_id is None:
        if after is not None:
            statement = statement.where(chain.c.seq > after)
        rows = (await session.execute(statement.order_by(chain.c.seq).limit(limit + 1))).mappings().all()
        return list(rows)
    if after is not None:
        place = await _commit_place(session, after)
        # The page's start as one row comparison that leads with child_id: only the child's
        # index can serve it, so the planner never walks all later entries in (txid, id) order
        # to find a few of this child's (it did for a hot child's last page, bench/child_report.py).
        statement = statement.where(
            tuple_(log.c.child_id, log.c.txid, log.c.id) > tuple_(literal(child_id, log.c.child_id.type), *place)
            if place is not None
            else chain.c.seq > after
        )
    statement = statement.order_by(log.c.txid, log.c.id).limit(limit + 1)
    return list((await session.execute(statement)).mappings().all())


async def _commit_place(session: AsyncSession, seq: int) -> tuple[ColumnElement[Any], ColumnElement[Any]] | None:
    """The (txid, id) of chain entry `seq`: where the page after it starts in commit order.

    A cursor names a chained entry (it is signed, and only chained entries are paged); should the
    entry be gone (a damaged log, which verification reports), None: page by `seq`, slower."""
    place = (
        await session.execute(
            select(log.c.txid, log.c.id).select_from(chain.join(log, CHAIN_TO_LOG)).where(chain.c.seq == seq)
        )
    ).first()
    return None if place is None else (literal(place.txid, log.c.txid.type), literal(place.id, log.c.id.type))


async def filtered_entries(
    session: AsyncSession, filters: LogFilters, *, after: int | None, limit: int
) -> list[RowMapping]:
    """Up to `limit + 1` chained entries that match the filters, after seq `after`."""
    return await _entries(session, filters.conditions(), after=after, limit=limit, child_id=filters.child_id)


async def child_entries(
    session: AsyncSession, child_id: uuid.UUID, *, after: int | None, limit: int
) -> list[RowMapping]:
    """Up to `limit + 1` chained entries about one child (its access report), after seq `after`."""
    return await _entries(session, [log.c.child_id == child_id], after=after, limit=limit, child_id=child_id)


async def child_extract(session: AsyncSession, keys: KeyRing, child_id: uuid.UUID) -> str:
    """The child's whole report as one signed extract, read in the session's transaction."""

    def build(sync: Any) -> str:
        return build_extract(sync.connection(), keys, child_id)

    return await session.run_sync(build)
