"""Concerns: raising one, listing what the caller may see, moving one through its workflow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.enums import CONCERN_TRANSITIONS, AgencyKind, ConcernStatus, EventType
from app.errors import ConcernTransitionNotAllowed, unprocessable
from app.events.outbox import publish
from app.models.agency import Agency
from app.models.base import table_of, utcnow
from app.models.concern import Concern
from app.schemas.concern import ConcernCreate, ConcernStatusChange
from app.security.caller import Caller
from app.security.records import visible_page
from app.services import signals
from app.services.children import require_child
from app.services.decisions import decision_due_at
from app.services.signal_rules import SignalRules
from app.settings import get_settings

CLOCK_SKEW = timedelta(minutes=5)
_concerns = table_of(Concern)


@dataclass(frozen=True)
class ConcernFilters:
    child_id: uuid.UUID | None = None
    status: ConcernStatus | None = None
    updated_since: datetime | None = None


def _history_item(
    status: ConcernStatus, previous: str | None, reason: str | None, caller: Caller, at: datetime
) -> dict[str, object]:
    return {
        "status": status.value,
        "from_status": previous,
        "reason": reason,
        "changed_at": at.isoformat(),
        # The agency, never the client: another agency that reads the concern must not learn
        # which client id raised it (client ids are what the login throttle counts by).
        "agency_id": caller.agency_id,
    }


async def raise_concern(
    session: AsyncSession, caller: Caller, data: ConcernCreate, signal_rules: SignalRules | None = None
) -> Concern:
    now = utcnow()
    await require_child(session, data.child_id)
    if data.observed_at is not None and data.observed_at > now + CLOCK_SKEW:
        raise unprocessable(["body", "observed_at"], "lies in the future")
    if data.report_to_agency_id is not None:
        agency = await session.get(Agency, data.report_to_agency_id)
        if agency is None or agency.kind != AgencyKind.social_services:
            raise unprocessable(["body", "report_to_agency_id"], "must name a social_services agency")
    concern = Concern(
        child_id=data.child_id,
        agency_id=caller.agency_id,
        areas=[area.value for area in data.areas],
        description=data.description,
        urgency=data.urgency.value,
        observed_at=data.observed_at,
        report_to_agency_id=data.report_to_agency_id,
        status=ConcernStatus.received.value,
        status_history=[_history_item(ConcernStatus.received, None, None, caller, now)],
        decision_due_at=decision_due_at(now, data.report_to_agency_id),
        created_at=now,
        updated_at=now,
    )
    session.add(concern)
    await session.flush()
    await _publish(session, EventType.concern_received, concern, caller)
    await signals.after_concern(session, concern, signal_rules or SignalRules.from_settings(get_settings()))
    return concern


async def _publish(session: AsyncSession, event_type: EventType, concern: Concern, caller: Caller) -> None:
    await publish(
        session,
        event_type,
        resource_type="concern",
        record_id=concern.id,
        child_id=concern.child_id,
        actor_agency_id=caller.agency_id,
    )


async def list_concerns(
    session: AsyncSession,
    caller: Caller,
    filters: ConcernFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """The caller's visible concerns, oldest first, filtered in the query (never after loading)."""
    conditions = []
    if filters.child_id is not None:
        conditions.append(_concerns.c.child_id == filters.child_id)
    if filters.status is not None:
        conditions.append(_concerns.c.status == filters.status.value)
    if filters.updated_since is not None:
        conditions.append(_concerns.c.updated_at >= filters.updated_since)
    return await visible_page(session, caller, "concern", after, limit, *conditions)


async def change_status(
    session: AsyncSession, caller: Caller, concern: Concern, change: ConcernStatusChange
) -> Concern:
    """Move a concern the caller may change (app/security/records.py: `ensure_may_change`)."""
    current = ConcernStatus(concern.status)
    if change.status not in CONCERN_TRANSITIONS[current]:
        allowed = ", ".join(sorted(CONCERN_TRANSITIONS[current])) or "none (final)"
        raise ConcernTransitionNotAllowed(
            f"A {current.value} concern cannot become {change.status.value}; allowed: {allowed}."
        )
    now = utcnow()
    concern.status = change.status.value
    concern.status_history = [
        *concern.status_history,
        _history_item(change.status, current.value, change.status_reason, caller, now),
    ]
    concern.updated_at = now
    await session.flush()
    await _publish(session, EventType.concern_status_changed, concern, caller)
    return concern
