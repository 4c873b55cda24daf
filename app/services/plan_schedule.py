"""`plan.review_due`: published by the worker, once per plan and review date, when the date
passes without a review (a review after the date must set the next one, so a date that has
passed on an active plan is one that nobody reviewed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.db import Database, insert_ignoring_conflict
from app.enums import EventType
from app.events.outbox import publish
from app.models.base import table_of, utcnow
from app.models.plan import ACTIVE, Plan, PlanReviewDue

_plans = table_of(Plan)
_notices = table_of(PlanReviewDue)


async def publish_due_reviews(database: Database, now: datetime | None = None, limit: int = 100) -> int:
    """Publish `plan.review_due` for active plans whose `next_review_at` is at or before `now`
    (default: the clock; tests pass their own) and not yet announced; returns how many."""
    now = now or utcnow()
    published = 0
    async with database.write_session() as session:
        noticed_before = (
            select(_notices.c.plan_id)
            .where(_notices.c.plan_id == _plans.c.id, _notices.c.due_at == _plans.c.next_review_at)
            .exists()
        )
        due = (
            await session.execute(
                select(_plans.c.id, _plans.c.child_id, _plans.c.next_review_at)
                .where(_plans.c.status == ACTIVE, _plans.c.next_review_at <= now, ~noticed_before)
                .order_by(_plans.c.next_review_at, _plans.c.id)
                .limit(limit)
            )
        ).all()
        dialect = session.get_bind().dialect.name
        for plan in due:
            noticed = await session.execute(
                insert_ignoring_conflict(dialect, _notices, "plan_id", "due_at")
                .values(plan_id=plan.id, due_at=plan.next_review_at, noticed_at=now)
                .returning(_notices.c.plan_id)
            )
            if noticed.first() is not None:  # another worker may have been first
                await publish(
                    session,
                    EventType.plan_review_due,
                    resource_type="plan",
                    record_id=plan.id,
                    child_id=plan.child_id,
                    actor_agency_id=None,
                )
                published += 1
        await session.commit()
    return published
