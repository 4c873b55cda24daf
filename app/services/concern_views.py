"""A concern as one caller may read it: statuses and the decision always, another agency's
reasons only where the consent rule lets that agency's words through (app/security/reasons.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.concern import Concern
from app.schemas.concern import ConcernDecision, ConcernPublic, StatusHistoryItem
from app.security.caller import Caller
from app.security.reasons import readable_writers


def concern_public(concern: Concern | Row[Any], readable: frozenset[str]) -> ConcernPublic:
    """The representation, with each reason whose writer is not in `readable` blanked.

    Built field by field, so that nothing stored on the concern (such as the client ids that
    entries written before issue 16 hold) reaches the caller unless it is named here.
    """
    history = [
        StatusHistoryItem(
            status=item["status"],
            from_status=item.get("from_status"),
            reason=item.get("reason") if item.get("agency_id") in readable else None,
            at=item["changed_at"],
            changed_at=item["changed_at"],
            agency_id=item["agency_id"],
        )
        for item in concern.status_history
    ]
    current = history[-1] if history and history[-1].status == concern.status else None
    decision = None
    if concern.decision is not None:
        decision = ConcernDecision(
            decision=concern.decision, decided_at=concern.decided_at, agency_id=concern.decision_agency_id
        )
    return ConcernPublic(
        id=concern.id,
        child_id=concern.child_id,
        agency_id=concern.agency_id,
        areas=concern.areas,
        description=concern.description,
        urgency=concern.urgency,
        observed_at=concern.observed_at,
        report_to_agency_id=concern.report_to_agency_id,
        status=concern.status,
        status_reason=None if current is None else current.reason,
        status_history=history,
        decision=decision,
        decision_due_at=concern.decision_due_at,
        created_at=concern.created_at,
        updated_at=concern.updated_at,
    )


async def publics_of(
    session: AsyncSession, caller: Caller, concerns: Sequence[Concern | Row[Any]]
) -> list[ConcernPublic]:
    """A page of concerns as the caller may read them (at most one extra query for the page)."""
    readable = await readable_writers(session, caller.agency_id, concerns)
    return [concern_public(concern, readable[concern.id]) for concern in concerns]
