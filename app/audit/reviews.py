"""Documented log reviews: written once, never changed (the table refuses UPDATE and DELETE)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.audit import AccessLogReview
from app.models.base import new_id, table_of, utcnow
from app.schemas.log_review import LogReviewCreate
from app.security.caller import Caller

_reviews = table_of(AccessLogReview)


async def record_review(session: AsyncSession, caller: Caller, data: LogReviewCreate) -> dict[str, Any]:
    row = {
        "id": new_id(),
        "period_from": data.period_from,
        "period_to": data.period_to,
        "seed": data.seed,
        "entries_checked": data.entries_checked,
        "findings": [finding.model_dump(mode="json") for finding in data.findings],
        "reviewer": data.reviewer,
        "client_id": caller.client_id,
        "agency_id": caller.agency_id,
        "created_at": utcnow(),
    }
    await session.execute(insert(_reviews).values(**row))
    return row


async def get_review(session: AsyncSession, review_id: uuid.UUID) -> Row[Any] | None:
    return (await session.execute(select(_reviews).where(_reviews.c.id == review_id))).first()


async def list_reviews(
    session: AsyncSession, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[Row[Any]]:
    """Oldest first (`created_at`, then `id`), after a cursor's position."""
    statement = select(_reviews).order_by(_reviews.c.created_at, _reviews.c.id).limit(limit)
    if after is not None:
        statement = statement.where(tuple_(_reviews.c.created_at, _reviews.c.id) > tuple_(*after))
    return (await session.execute(statement)).all()
