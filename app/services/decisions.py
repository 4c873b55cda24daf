"""Feedback to the one who reported (återkoppling): social services' decision on a mandatory report.

Social services must tell a professional who reported whether an investigation was opened, not
opened, or already ongoing — and nothing more without the family's consent: the decision is a
code, its reasons stay with social services (app/security/reasons.py). It decides within 14 days
of receiving the report (SoL 11 kap. 1 a §): every mandatory report carries `decision_due_at`, and
the worker announces a deadline passed without a decision, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.enums import EventType
from app.errors import Conflict, Forbidden, unprocessable
from app.events.outbox import publish, publish_to
from app.models.base import table_of, utcnow
from app.models.concern import Concern
from app.schemas.concern import DecisionCreate
from app.security.caller import Caller

DECISION_PERIOD = timedelta(days=14)
CLOCK_SKEW = timedelta(minutes=5)
_concerns = table_of(Concern)


class NotAMandatoryReport(Conflict):
    """Only a mandatory report (a concern with report_to_agency_id) takes a decision."""

    slug, title = "not-a-mandatory-report", "Not a mandatory report"


class DecisionAlreadyRecorded(Conflict):
    """The concern's decision is recorded once and never rewritten."""

    slug, title = "decision-already-recorded", "Decision already recorded"


def decision_due_at(created_at: datetime, report_to_agency_id: str | None) -> datetime | None:
    return created_at + DECISION_PERIOD if report_to_agency_id is not None else None


async def record_decision(session: AsyncSession, caller: Caller, concern: Concern, data: DecisionCreate) -> Concern:
    """The reported-to agency's decision, once. `concern` is locked for update by the caller
    (fetch_visible), so of two concurrent decisions the second finds the first and is a 409."""
    if concern.report_to_agency_id is None:
        raise NotAMandatoryReport("Only a mandatory report (a concern with report_to_agency_id) takes a decision.")
    if caller.agency_id != concern.report_to_agency_id:
        raise Forbidden("Only the agency the concern is reported to may record its decision.")
    if concern.decision is not None:
        raise DecisionAlreadyRecorded("A decision is already recorded for this concern; it is not rewritten.")
    now = utcnow()
    decided_at = data.decided_at or now
    if decided_at > now + CLOCK_SKEW:
        raise unprocessable(["body", "decided_at"], "lies in the future")
    if decided_at < concern.created_at - CLOCK_SKEW:
        raise unprocessable(["body", "decided_at"], "lies before the concern was received")
    concern.decision = data.decision.value
    concern.decided_at = decided_at
    concern.decision_agency_id = caller.agency_id
    concern.updated_at = now
    await session.flush()
    # To every agency that may see the concern now: the reporter learns the code and the date.
    await publish(
        session,
        EventType.concern_decision_recorded,
        resource_type="concern",
        record_id=concern.id,
        child_id=concern.child_id,
        actor_agency_id=caller.agency_id,
    )
    return concern


async def publish_overdue_decisions(database: Database, now: datetime | None = None, limit: int = 100) -> int:
    """`concern.decision_overdue` to the reported-to agency, once per concern, when its deadline
    has passed without a decision. `now` is the clock (tests pass their own).

    The mark and the event commit together. The mark is a conditional UPDATE, so of several
    workers one wins each concern, and a decision committed meanwhile stops it (PostgreSQL
    re-reads the row it waited for; SQLite serialises writers).
    """
    now = now or utcnow()
    async with database.write_session() as session:
        due = (
            select(_concerns.c.id)
            .where(
                _concerns.c.decision_due_at <= now,
                _concerns.c.decision.is_(None),
                _concerns.c.decision_overdue_at.is_(None),
            )
            .order_by(_concerns.c.decision_due_at)
            .limit(limit)
        )
        marked = await session.execute(
            update(_concerns)
            .where(
                _concerns.c.id.in_(due.scalar_subquery()),
                _concerns.c.decision.is_(None),
                _concerns.c.decision_overdue_at.is_(None),
            )
            .values(decision_overdue_at=now)
            .returning(_concerns.c.id, _concerns.c.child_id, _concerns.c.report_to_agency_id)
        )
        rows = marked.all()
        for row in rows:
            await publish_to(
                session,
                EventType.concern_decision_overdue,
                resource_type="concern",
                record_id=str(row.id),
                agency_ids=[row.report_to_agency_id],
                actor_agency_id=None,
                child_id=row.child_id,
            )
        await session.commit()
    return len(rows)
