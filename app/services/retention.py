"""Retention (gallring): count, and purge, the records past retention (app/services/retention_rules.py).

`purge` deletes a record together with everything that holds its content — a plan's goals,
actions, reviews and review notices, a team's members, a consent's parties, confirmations,
withdrawal and expiry notice, a child's signal marks, and the idempotency records whose stored
responses repeat it — in one transaction per batch, and publishes `record.purged` (ids only:
record type, id, child) to the agencies that may see the record at that moment, before it goes.
The thin events already published about the record and the access log keep ids only and stay.

The batch transaction opens the purge gate (a row in `retention_purge_gate`, migration 0024),
without which the append-only tables refuse the DELETE, and closes it before it commits, so no
other transaction ever sees the gate open.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy import ColumnElement, Table, delete, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.enums import EventType
from app.events.outbox import publish_many, publish_to
from app.models.base import new_id, table_of
from app.models.consent import ConsentConfirmation, ConsentParty, ConsentWithdrawal
from app.models.event import ConsentExpiration, Event, EventRecipient
from app.models.idempotency import IdempotencyRecord
from app.models.plan import PlanAction, PlanGoal, PlanReview, PlanReviewDue
from app.models.retention import RetentionPurgeGate
from app.models.signal import SignalRaise
from app.models.team import TeamMember
from app.services.retention_rules import RECORD_TYPES, TABLES, Rules, retention_days
from app.settings import Settings

# Told of each purged record (type, id, child) so that the batch's log entries name it.
PurgeNote = Callable[[str, uuid.UUID, uuid.UUID], None]
# Opens one batch's transaction; it commits (with its log entries) when the block ends cleanly.
BatchOpener = Callable[[], AbstractAsyncContextManager[tuple[AsyncSession, PurgeNote]]]

BATCH_SIZE = 100
_gate = table_of(RetentionPurgeGate)
_idempotency = table_of(IdempotencyRecord)
_events = table_of(Event)
_recipients = table_of(EventRecipient)

# Rows that go with a record, in deletion order (an action may name a goal), by their link column.
DEPENDENTS: dict[str, tuple[tuple[Table, str], ...]] = {
    "plan": (
        (table_of(PlanReviewDue), "plan_id"),
        (table_of(PlanReview), "plan_id"),
        (table_of(PlanAction), "plan_id"),
        (table_of(PlanGoal), "plan_id"),
    ),
    "team": ((table_of(TeamMember), "team_id"),),
    "consent": (
        (table_of(ConsentConfirmation), "consent_id"),
        (table_of(ConsentWithdrawal), "consent_id"),
        (table_of(ConsentExpiration), "consent_id"),
        (table_of(ConsentParty), "consent_id"),
    ),
    "child": ((table_of(SignalRaise), "child_id"),),
}


def _child_column(record_type: str) -> ColumnElement[uuid.UUID]:
    table = TABLES[record_type]
    return table.c.id if record_type == "child" else table.c.child_id


async def plan(session: AsyncSession, settings: Settings, now: datetime) -> dict[str, int]:
    """How many records of each type `purge` would remove at `now`; changes nothing."""
    rules = Rules(settings, now)
    counts: dict[str, int] = {}
    for record_type in RECORD_TYPES:
        if retention_days(settings, record_type) is None:
            counts[record_type] = 0
            continue
        statement = select(func.count()).select_from(TABLES[record_type]).where(rules.due(record_type))
        counts[record_type] = (await session.execute(statement)).scalar_one()
    return counts


async def purge(
    open_batch: BatchOpener, settings: Settings, now: datetime, *, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Remove every record past retention at `now`, type by type, `batch_size` per transaction."""
    rules = Rules(settings, now)
    counts = dict.fromkeys(RECORD_TYPES, 0)
    for record_type in RECORD_TYPES:
        if retention_days(settings, record_type) is None:
            continue
        after: uuid.UUID | None = None
        while True:
            async with open_batch() as (session, note):
                purged = await _purge_batch(session, rules, record_type, batch_size, note, after)
            counts[record_type] += len(purged)
            if len(purged) < batch_size:
                break
            after = purged[-1]
    return counts


async def _purge_batch(
    session: AsyncSession,
    rules: Rules,
    record_type: str,
    batch_size: int,
    note: PurgeNote,
    after: uuid.UUID | None,
) -> list[uuid.UUID]:
    """One batch, in id order after `after`: each batch goes on where the last one stopped, so a
    run reads each table once (not once per batch) however much it purges."""
    table = TABLES[record_type]
    # SKIP LOCKED (PostgreSQL): two workers purging at once take different rows, and each
    # record's event goes out once. SQLite has one writer at a time.
    due = (
        select(table.c.id, _child_column(record_type))
        .where(rules.due(record_type), true() if after is None else table.c.id > after)
        .order_by(table.c.id)
        .limit(batch_size)
        .with_for_update(of=table, skip_locked=True)
    )
    rows = [(row[0], row[1]) for row in (await session.execute(due)).all()]
    if not rows:
        return []
    run_id = new_id()
    await session.execute(insert(_gate).values(run_id=run_id, opened_at=rules.now))
    await _announce(session, record_type, rows)
    for record_id, child_id in rows:
        note(record_type, record_id, child_id)
    await _delete(session, record_type, [record_id for record_id, _ in rows])
    await session.execute(delete(_gate).where(_gate.c.run_id == run_id))
    return [record_id for record_id, _ in rows]


async def _announce(session: AsyncSession, record_type: str, rows: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """`record.purged`, while the records still exist so that the access rule finds their readers."""
    if record_type != "child":
        await publish_many(
            session, EventType.record_purged, resource_type=record_type, records=rows, actor_agency_id=None
        )
        return
    # A child has no access rule of its own (any client may read it): tell the agencies whose
    # feeds carried events about the child, the ones that may hold its id.
    for child_id, _ in rows:
        heard = select(_recipients.c.agency_id).join(_events, _events.c.id == _recipients.c.event_pk)
        agencies = (await session.execute(heard.where(_events.c.child_id == child_id).distinct())).scalars().all()
        await publish_to(
            session,
            EventType.record_purged,
            resource_type="child",
            record_id=str(child_id),
            agency_ids=sorted(agencies),
            actor_agency_id=None,
            child_id=child_id,
        )


async def _delete(session: AsyncSession, record_type: str, ids: list[uuid.UUID]) -> None:
    table = TABLES[record_type]
    stored_ids = [str(record_id) for record_id in ids]
    for dependent, column in DEPENDENTS.get(record_type, ()):
        if "id" in dependent.c:  # a sub-record created by a POST: its idempotency record goes too
            sub_ids = (await session.execute(select(dependent.c.id).where(dependent.c[column].in_(ids)))).scalars()
            stored_ids += [str(sub_id) for sub_id in sub_ids]
        await session.execute(delete(dependent).where(dependent.c[column].in_(ids)))
    await session.execute(delete(_idempotency).where(_idempotency.c.resource_id.in_(stored_ids)))
    await session.execute(delete(table).where(table.c.id.in_(ids)))
