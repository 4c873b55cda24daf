"""Concerns: raise, read, list and move through the workflow (scopes `concerns:*`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Response, Security
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.enums import ConcernStatus
from app.errors import ConcernTransitionNotAllowed
from app.http.deps import ContextDep, CursorsDep, SessionDep, SettingsDep
from app.http.etag import IfMatchRequired, check_if_match, etag_of, with_etag
from app.http.guard import current_caller
from app.http.idempotency import IdempotencyDep
from app.http.loaders import changeable, locked, visible
from app.http.paging import (
    DEFAULT_LIMIT,
    CreatedPaging,
    CursorParam,
    LimitParam,
)
from app.models.concern import Concern
from app.routers.responses import ETAG_HEADER, created, guarded_router, problems, success
from app.schemas.common import Page, Timestamp
from app.schemas.concern import ConcernCreate, ConcernPublic, ConcernStatusChange, DecisionCreate
from app.security.caller import Caller
from app.services import concerns, decisions
from app.services.concern_views import publics_of
from app.services.concerns import ConcernFilters
from app.services.decisions import DecisionAlreadyRecorded, NotAMandatoryReport
from app.services.signal_rules import SignalRules

router = guarded_router("concerns")
ConcernsReader = Annotated[Caller, Security(current_caller, scopes=["concerns:read"])]
ConcernsWriter = Annotated[Caller, Security(current_caller, scopes=["concerns:write"])]
VisibleConcern = Annotated[Concern, Depends(visible(Concern, "concern", "concern_id"))]
ChangeableConcern = Annotated[Concern, Depends(changeable(Concern, "concern", "concern_id"))]
# Not `changeable`: of the two agencies that may change a concern only the one it is reported to
# decides, and "not a mandatory report" (409) is answered before that (403) — by the service.
LockedConcern = Annotated[Concern, Depends(locked(Concern, "concern", "concern_id"))]


async def _public(session: AsyncSession, caller: Caller, concern: Concern | Row[Any]) -> ConcernPublic:
    """As the caller may read it: another agency's reasons only under the consent rule."""
    (public,) = await publics_of(session, caller, [concern])
    return public


async def _respond(session: AsyncSession, caller: Caller, response: Response, concern: Concern) -> ConcernPublic:
    return with_etag(response, await _public(session, caller, concern))


@router.post(
    "/concerns",
    operation_id="concerns-create",
    summary="Raise a concern",
    status_code=201,
    responses={
        201: created(
            "Raised.",
            ("GetConcern", "concerns-get", {"concern_id": "$response.body#/id"}),
            ("ChangeStatus", "concerns-change-status", {"concern_id": "$response.body#/id"}),
            ("Decide", "concerns-decide", {"concern_id": "$response.body#/id"}),
        )
    },
)
async def raise_concern(
    data: ConcernCreate,
    caller: ConcernsWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
    settings: SettingsDep,
) -> ConcernPublic:
    """Record a worry about a child. With `report_to_agency_id` it is a mandatory report
    (orosanmälan) to that social-services agency, which may then read and handle it without
    consent. The raising agency is the caller's; the status starts as `received`."""
    concern = await concerns.raise_concern(session, caller, data, SignalRules.from_settings(settings))
    context.audit("concern", concern.id, concern.child_id)
    response.headers["Location"] = f"/api/v1/concerns/{concern.id}"
    return await _respond(session, caller, response, concern)


@router.get(
    "/concerns/{concern_id}",
    operation_id="concerns-get",
    summary="Get a concern",
    responses={200: success("The concern.", ETAG_HEADER), **problems(404)},
)
async def get_concern(
    caller: ConcernsReader, concern: VisibleConcern, session: SessionDep, response: Response
) -> ConcernPublic:
    """A concern the caller's agency may see by the consent rule; 404 otherwise. A reason
    another agency wrote (`status_reason`, `status_history[].reason`) is null unless an active
    consent for the child, confirmed by the writer's agency, names both and covers `concerns`."""
    return await _respond(session, caller, response, concern)


@router.get("/concerns", operation_id="concerns-list", summary="List concerns")
async def list_concerns(
    caller: ConcernsReader,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    child_id: uuid.UUID | None = None,
    status: ConcernStatus | None = None,
    updated_since: Timestamp | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[ConcernPublic]:
    """The concerns the caller's agency may see, oldest first. Stable under inserts: new
    concerns appear on later pages."""
    filters = ConcernFilters(child_id=child_id, status=status, updated_since=updated_since)
    binding = {"child_id": child_id, "status": status, "updated_since": updated_since}
    paging = CreatedPaging.resume(cursors, cursor, "concerns", caller.client_id, binding, limit)
    rows, next_cursor = paging.cut(await concerns.list_concerns(session, caller, filters, paging.after, paging.fetch))
    context.audit_rows("concern", rows)
    return Page[ConcernPublic](items=await publics_of(session, caller, rows), next_cursor=next_cursor)


@router.patch(
    "/concerns/{concern_id}",
    operation_id="concerns-change-status",
    summary="Change a concern's status",
    responses={200: success("Changed.", ETAG_HEADER), **problems(404, ConcernTransitionNotAllowed, 412, 428)},
)
async def change_status(
    change: ConcernStatusChange,
    caller: ConcernsWriter,
    session: SessionDep,
    response: Response,
    precondition: IfMatchRequired,
    concern: ChangeableConcern,
) -> ConcernPublic:
    """Move the concern along its workflow: `received → accepted | rejected | cancelled`,
    `accepted → in_progress | cancelled`, `in_progress → completed | cancelled` (anything else
    409). Only the raising agency and the agency it is reported to may do this (403). Send the
    ETag you read as `If-Match` (428 without, 412 when the concern changed since)."""
    check_if_match(precondition, etag_of(await _public(session, caller, concern)))
    changed = await concerns.change_status(session, caller, concern, change)
    return await _respond(session, caller, response, changed)


@router.post(
    "/concerns/{concern_id}/decision",
    operation_id="concerns-decide",
    summary="Record the decision on a mandatory report",
    responses={
        200: success("Recorded; the concern.", ETAG_HEADER),
        **problems(403, 404, NotAMandatoryReport, DecisionAlreadyRecorded),
    },
)
async def record_decision(
    concern: LockedConcern, data: DecisionCreate, caller: ConcernsWriter, session: SessionDep, response: Response
) -> ConcernPublic:
    """Feedback to the one who reported (återkoppling): whether an investigation was opened
    (`investigation_opened`), not opened (`not_opened`) or is already ongoing
    (`already_ongoing`) — the code and its date are all the reporter learns; reasons stay with
    social services unless the family consents. Only the agency the concern is reported to may
    record it (others that can see the concern: 403), once (a second decision: 409); a concern
    that is not a mandatory report takes none (409). Due within 14 days of the report
    (`decision_due_at`); publishes `concern.decision_recorded`."""
    decided = await decisions.record_decision(session, caller, concern, data)
    return await _respond(session, caller, response, decided)
