"""An agency's event feed, in commit order: no gaps, no duplicates, resumable from any position.

Positions are (txid, event_pk). Only events of transactions below the committed horizon (see
app/audit/sequencer.py) are handed out, so an event committed late by a slow transaction is
never skipped by a reader that has moved past later ones.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.sequencer import committed_horizon
from app.models.base import table_of
from app.models.event import Event, EventRecipient, Subscription

START = (-1, 0)
_events = table_of(Event)
_recipients = table_of(EventRecipient)
_subscriptions = table_of(Subscription)

# A subscription (a row of `subscriptions` in the enclosing query) has events for its agency
# beyond its position: what a worker leases it for, and what the pending gauge counts.
SUBSCRIPTION_IS_BEHIND = (
    select(_recipients.c.event_pk)
    .where(
        _recipients.c.agency_id == _subscriptions.c.agency_id,
        tuple_(_recipients.c.txid, _recipients.c.event_pk)
        > tuple_(_subscriptions.c.position_txid, _subscriptions.c.position_event_pk),
    )
    .exists()
)


@dataclass(frozen=True)
class FeedItem:
    position: tuple[int, int]
    event: Event


async def horizon(session: AsyncSession) -> int | None:
    return await session.run_sync(lambda sync: committed_horizon(sync.connection()))


async def _settled_horizon(session: AsyncSession, agency_id: str, after: tuple[int, int]) -> int | None:
    """The horizon, once it has passed every event for the agency committed before this call
    (waiting up to a second for older transactions still running): a reader sees an event as
    soon as the response of the request that made it has been sent."""
    for _ in range(100):
        limit_txid = await horizon(session)
        if limit_txid is None:
            return None
        beyond = await session.execute(
            select(_recipients.c.event_pk)
            .where(
                _recipients.c.agency_id == agency_id,
                tuple_(_recipients.c.txid, _recipients.c.event_pk) > tuple_(*after),
                _recipients.c.txid >= limit_txid,
            )
            .limit(1)
        )
        if beyond.first() is None:
            return limit_txid
        await asyncio.sleep(0.01)
    return limit_txid


async def read_feed(
    session: AsyncSession, agency_id: str, after: tuple[int, int], limit: int, types: frozenset[str] | None = None
) -> list[FeedItem]:
    """The agency's next events after `after`, oldest first (optionally only these types)."""
    statement = (
        select(_recipients.c.txid, Event)
        .join(_events, _events.c.id == _recipients.c.event_pk)
        .where(
            _recipients.c.agency_id == agency_id,
            tuple_(_recipients.c.txid, _recipients.c.event_pk) > tuple_(*after),
        )
        .order_by(_recipients.c.txid, _recipients.c.event_pk)
        .limit(limit)
    )
    limit_txid = await _settled_horizon(session, agency_id, after)
    if limit_txid is not None:
        statement = statement.where(_recipients.c.txid < limit_txid)
    if types is not None:
        statement = statement.where(_events.c.type.in_(sorted(types)))
    rows = (await session.execute(statement)).all()
    return [FeedItem(position=(row[0], row[1].id), event=row[1]) for row in rows]
