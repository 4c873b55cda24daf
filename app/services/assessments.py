"""Compass assessments: recording (never editing), listing, and the compass view of a child."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.enums import Area, EventType, Perspective
from app.errors import unprocessable
from app.events.outbox import publish
from app.models.assessment import Assessment
from app.models.base import table_of, utcnow
from app.schemas.assessment import AssessmentCreate, CompassArea
from app.security.access import caller_parameters, caller_rule
from app.security.caller import Caller
from app.security.records import visible_page
from app.services import signals
from app.services.children import require_child
from app.services.signal_rules import SignalRules
from app.settings import get_settings

CLOCK_SKEW = timedelta(minutes=5)
_assessments = table_of(Assessment)


async def record_assessment(
    session: AsyncSession, caller: Caller, data: AssessmentCreate, signal_rules: SignalRules | None = None
) -> Assessment:
    now = utcnow()
    await require_child(session, data.child_id)
    assessed_at = data.assessed_at or now
    if assessed_at > now + CLOCK_SKEW:
        raise unprocessable(["body", "assessed_at"], "lies in the future")
    assessment = Assessment(
        child_id=data.child_id,
        agency_id=caller.agency_id,
        perspective=data.perspective.value,
        assessed_at=assessed_at,
        areas={area: value.model_dump(mode="json") for area, value in data.areas.assessed().items()},
        created_at=now,
    )
    session.add(assessment)
    await session.flush()
    await publish(
        session,
        EventType.assessment_recorded,
        resource_type="assessment",
        record_id=assessment.id,
        child_id=assessment.child_id,
        actor_agency_id=caller.agency_id,
    )
    await signals.after_assessment(session, assessment, signal_rules or SignalRules.from_settings(get_settings()))
    return assessment


async def list_assessments(
    session: AsyncSession,
    caller: Caller,
    child_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    conditions = [] if child_id is None else [_assessments.c.child_id == child_id]
    return await visible_page(session, caller, "assessment", after, limit, *conditions)


async def compass_of(
    session: AsyncSession, caller: Caller, child_id: uuid.UUID
) -> dict[Perspective, dict[Area, CompassArea]]:
    """Per perspective and area: the latest visible rating, the one before, and the change."""
    visible = (
        await session.execute(
            select(Assessment)
            .where(_assessments.c.child_id == child_id, caller_rule("assessment"))
            .order_by(_assessments.c.assessed_at, _assessments.c.created_at, _assessments.c.id),
            caller_parameters(caller.agency_id),
        )
    ).scalars()
    return compass_from(visible)


def compass_from(assessments: Iterable[Assessment | Row[Any]]) -> dict[Perspective, dict[Area, CompassArea]]:
    """The compass of one child's visible assessments, given oldest first (also the plan's goals')."""
    ratings: defaultdict[tuple[str, str], list[Assessment | Row[Any]]] = defaultdict(list)
    for assessment in assessments:
        for area, value in assessment.areas.items():
            if value.get("rating") is not None:
                ratings[(assessment.perspective, area)].append(assessment)
    compass: dict[Perspective, dict[Area, CompassArea]] = {}
    for (perspective, area), history in sorted(ratings.items()):
        latest = history[-1]
        latest_rating = int(latest.areas[area]["rating"])
        previous = int(history[-2].areas[area]["rating"]) if len(history) > 1 else None
        compass.setdefault(Perspective(perspective), {})[Area(area)] = CompassArea(
            latest=latest_rating,
            previous=previous,
            change=None if previous is None else latest_rating - previous,
            assessed_at=latest.assessed_at,
            agency_id=latest.agency_id,
        )
    return compass
