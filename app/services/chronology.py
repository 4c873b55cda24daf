"""The child's chronology: the significant events of the child's records, as far as the caller
may see them now, oldest first.

One SQL statement: a UNION ALL of the branches of every source the caller's scopes can read
(app/services/chronology_sources.py), each built on the access rule, ordered and keyset-paged in
the database by (`at`, `record_type`, `record_id`, `kind`, `part`). The summary is written here
from codes only (areas, urgency, statuses, the decision, perspective, ratings, roles, record
types): never from free text, so nothing another agency wrote reaches the caller this way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Subquery, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import unprocessable
from app.schemas.chronology import ChronologyItem
from app.security.access import caller_parameters
from app.security.caller import Caller
from app.services.chronology_sources import SOURCES, ChronologySource

Position = tuple[datetime, str, uuid.UUID, str, str]


@dataclass(frozen=True)
class ChronologyFilters:
    since: datetime | None = None  # items at or after
    until: datetime | None = None  # items before


def readable_sources(caller: Caller) -> tuple[ChronologySource, ...]:
    """A record type the caller's scopes cannot read is left out (police: no assessments)."""
    return tuple(source for source in SOURCES if source.scope in caller.scopes)


@lru_cache(maxsize=32)
def _items_of(sources: tuple[ChronologySource, ...]) -> Subquery:
    """The UNION of the sources' branches, built once per set of readable sources."""
    branches = [branch for source in sources for branch in source.branches(source.visible())]
    return union_all(*branches).subquery("chronology")


async def chronology_page(
    session: AsyncSession,
    caller: Caller,
    child_id: uuid.UUID,
    filters: ChronologyFilters,
    after: Position | None,
    limit: int,
) -> Sequence[Row[Any]]:
    sources = readable_sources(caller)
    if not sources:
        return []
    items = _items_of(sources)
    key = (items.c.at, items.c.record_type, items.c.record_id, items.c.kind, items.c.part)
    statement = select(items).order_by(*key).limit(limit)
    if filters.since is not None:
        statement = statement.where(items.c.at >= filters.since)
    if filters.until is not None:
        statement = statement.where(items.c.at < filters.until)
    if after is not None:
        statement = statement.where(tuple_(*key) > tuple_(*after))
    parameters = {**caller_parameters(caller.agency_id), "child_id": child_id}
    return (await session.execute(statement, parameters)).all()


def position_of(row: Row[Any]) -> list[str]:
    return [row.at.isoformat(), row.record_type, str(row.record_id), row.kind, row.part]


def parse_position(position: list[Any]) -> Position:
    try:
        at, record_type, record_id, kind, part = position
        if not all(isinstance(value, str) for value in (record_type, kind, part)):
            raise ValueError("not text")
        return datetime.fromisoformat(at), record_type, uuid.UUID(record_id), kind, part
    except (TypeError, ValueError):
        raise unprocessable(["query", "cursor"], "not a cursor this list issued") from None


_SUMMARIES = {kind: summary for source in SOURCES for kind, summary in source.summaries.items()}


def item_public(row: Row[Any]) -> ChronologyItem:
    return ChronologyItem(
        at=row.at,
        kind=row.kind,
        record_type=row.record_type,
        record_id=row.record_id,
        agency_id=row.agency_id,
        summary=_SUMMARIES[row.kind](row),
    )
