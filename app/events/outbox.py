"""Publishing an event: in the same transaction as the change, to the agencies it concerns.

The recipients are the agencies that may see the record at that moment by the access rule
(app/security/access.py) — decided in SQL, in the same statement that stores them. A consent's
events go to every agency it names: when it is withdrawn or expires, those are exactly the
agencies that lose access through it, and they must learn it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Uuid, bindparam, insert, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.enums import EventType
from app.models.agency import Agency
from app.models.base import new_id, table_of, utcnow
from app.models.event import Event, EventRecipient
from app.security.access import NOW, rule_for, table_for

_events = table_of(Event)
_recipients = table_of(EventRecipient)
_agencies = table_of(Agency)


_INSERT_EVENT = insert(_events).returning(_events.c.id)


@lru_cache(maxsize=8)
def _insert_recipients(resource_type: str) -> Any:
    """INSERT the agencies that may see the record now — built once per record type."""
    records = table_for(resource_type)
    # Every agency, paired with the one record (a deliberate cross join), kept when the rule holds.
    who_may_see = (
        select(bindparam("event_pk", type_=BigInteger()), _agencies.c.id)
        .select_from(records.join(_agencies, true()))
        .where(
            records.c.id == bindparam("record_id", type_=Uuid()),
            rule_for(resource_type, _agencies.c.id, NOW),
        )
    )
    return insert(_recipients).from_select(["event_pk", "agency_id"], who_may_see)


async def publish(
    session: AsyncSession,
    event_type: EventType,
    *,
    resource_type: str,
    record_id: uuid.UUID,
    child_id: uuid.UUID,
    actor_agency_id: str | None,
) -> uuid.UUID:
    """Store the event and, by the access rule, its recipients in the session's transaction;
    returns the event id."""
    now = utcnow()
    connection = await session.connection()
    event_pk, event_id = await _insert_event(
        connection, event_type, resource_type, str(record_id), child_id, actor_agency_id, now
    )
    await connection.execute(
        _insert_recipients(resource_type), {"event_pk": event_pk, "record_id": record_id, "now": now}
    )
    return event_id


async def publish_many(
    session: AsyncSession,
    event_type: EventType,
    *,
    resource_type: str,
    records: Sequence[tuple[uuid.UUID, uuid.UUID]],
    actor_agency_id: str | None,
) -> None:
    """`publish` for many records (id, child id) of one type in two statements, whatever their
    number: a retention batch's `record.purged` took two round trips per record before."""
    if not records:
        return
    now = utcnow()
    connection = await session.connection()
    rows = [
        {
            "event_id": new_id(),
            "type": event_type.value,
            "occurred_at": now,
            "record_type": resource_type,
            "record_id": str(record_id),
            "child_id": child_id,
            "actor_agency_id": actor_agency_id,
        }
        for record_id, child_id in records
    ]
    statement = insert(_events).returning(_events.c.id, sort_by_parameter_order=True)
    event_pks = (await connection.execute(statement, rows)).scalars().all()
    await connection.execute(
        _insert_recipients(resource_type),
        [
            {"event_pk": event_pk, "record_id": record_id, "now": now}
            for event_pk, (record_id, _child_id) in zip(event_pks, records, strict=True)
        ],
    )


async def publish_to(
    session: AsyncSession,
    event_type: EventType,
    *,
    resource_type: str,
    record_id: str,
    agency_ids: list[str],
    actor_agency_id: str | None,
    child_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """An event to named agencies: one not about a child (a client created or revoked), or one
    about a child's record that only one agency must hear of (a decision overdue), or one whose
    recipients the caller decided by the access rule itself (a signal, to its receiver)."""
    connection = await session.connection()
    event_pk, event_id = await _insert_event(
        connection, event_type, resource_type, record_id, child_id, actor_agency_id, utcnow()
    )
    if agency_ids:  # a purged child no feed ever named is recorded all the same (app/services/retention.py)
        await connection.execute(
            insert(_recipients),
            [{"event_pk": event_pk, "agency_id": agency_id} for agency_id in dict.fromkeys(agency_ids)],
        )
    return event_id


async def _insert_event(
    connection: AsyncConnection,
    event_type: EventType,
    resource_type: str,
    record_id: str,
    child_id: uuid.UUID | None,
    actor_agency_id: str | None,
    now: datetime,
) -> tuple[int, uuid.UUID]:
    event_id = new_id()
    values = {
        "event_id": event_id,
        "type": event_type.value,
        "occurred_at": now,
        "record_type": resource_type,
        "record_id": record_id,
        "child_id": child_id,
        "actor_agency_id": actor_agency_id,
    }
    return (await connection.execute(_INSERT_EVENT, values)).scalar_one(), event_id
