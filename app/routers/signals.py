"""Early-warning signals for a child, as the caller's agency may have them (scope `concerns:read`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Security

from app.enums import Area
from app.errors import NotFound
from app.http.deps import ContextDep, SessionDep, SettingsDep
from app.http.guard import current_caller
from app.routers.responses import guarded_router, problems
from app.schemas.signal import SignalList, SignalPublic
from app.security.caller import Caller
from app.services import signals
from app.services.children import get_child
from app.services.signal_rules import SignalRules

router = guarded_router("signals")
SignalsReader = Annotated[Caller, Security(current_caller, scopes=["concerns:read"])]


@router.get(
    "/children/{child_id}/signals",
    operation_id="signals-list",
    summary="A child's early-warning signals",
    responses=problems(404),
)
async def list_signals(
    child_id: uuid.UUID, caller: SignalsReader, context: ContextDep, session: SessionDep, settings: SettingsDep
) -> SignalList:
    """The rules that hold now for the child, worked out for the caller's agency alone:
    `concerns_accumulating` (at least 3 concerns within 180 days), `several_agencies` (concerns
    from at least 2 agencies within 180 days) and `compass_drop` (an area's latest rating fell by
    at least 2 from the one before it in the same perspective, or is 1; only for callers with
    `assessments:read`). They are made only of the records the caller may see, plus the count
    and areas — never the content, id or agency — of concerns by agencies that have confirmed an
    active consent for the child covering `signals` and naming the caller's agency. Thresholds
    are settings. Event `signal.raised` tells the agency when a rule newly holds."""
    context.audit("signals", child_id, child_id)
    if await get_child(session, child_id) is None:
        raise NotFound("There is no such child.")
    found = await signals.signals_for(session, caller, child_id, SignalRules.from_settings(settings))
    items = [
        SignalPublic(
            rule=signal.rule,
            raised_at=signal.raised_at,
            concern_count=signal.concern_count,
            agency_count=signal.agency_count,
            areas=[Area(area) for area in signal.areas],
            record_ids=list(signal.record_ids),
        )
        for signal in found
    ]
    return SignalList(child_id=child_id, items=items)
