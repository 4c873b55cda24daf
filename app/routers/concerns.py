"""Concerns: raise, read, list and move through the workflow (scopes `concerns:*`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Header, Response, Security
from sqlalchemy import Row

from app.dependencies import ContextDep, CursorsDep, SessionDep
from app.etag import check_if_match, etag_of, require_if_match
from app.idempotency import IdempotencyDep
from app.models.concern import Concern
from app.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    LimitParam,
    created_after,
    next_created_cursor,
    split_page,
)
from app.records import fetch_visible
from app.routers.responses import ETAG_HEADER, created, guarded_router, problems, success
from app.schemas.common import Page, Timestamp
from app.schemas.concern import ConcernCreate, ConcernPublic, ConcernStatusChange
from app.schemas.domain import ConcernStatus
from app.security.caller import Caller
from app.security.guard import current_caller
from app.services import concerns
from app.services.concerns import ConcernFilters

router = guarded_router("concerns")
ConcernsReader = Annotated[Caller, Security(current_caller, scopes=["concerns:read"])]
ConcernsWriter = Annotated[Caller, Security(current_caller, scopes=["concerns:write"])]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The ETag you read; required (428 without it).")]


def _public(concern: Concern | Row[Any]) -> ConcernPublic:
    return ConcernPublic.model_validate(concern, from_attributes=True)


def _respond(response: Response, concern: Concern) -> ConcernPublic:
    public = _public(concern)
    response.headers["ETag"] = etag_of(public)
    return public


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
) -> ConcernPublic:
    """Record a worry about a child. With `report_to_agency_id` it is a mandatory report
    (orosanmälan) to that social-services agency, which may then read and handle it without
    consent. The raising agency is the caller's; the status starts as `received`."""
    concern = await concerns.raise_concern(session, caller, data)
    context.audit("concern", concern.id, concern.child_id)
    response.headers["Location"] = f"/api/v1/concerns/{concern.id}"
    return _respond(response, concern)


@router.get(
    "/concerns/{concern_id}",
    operation_id="concerns-get",
    summary="Get a concern",
    responses={200: success("The concern.", ETAG_HEADER), **problems(404)},
)
async def get_concern(
    concern_id: uuid.UUID, caller: ConcernsReader, context: ContextDep, response: Response
) -> ConcernPublic:
    """A concern the caller's agency may see by the consent rule; 404 otherwise."""
    return _respond(response, await fetch_visible(context, Concern, "concern", concern_id))


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
    after = created_after(cursors, cursor, "concerns", caller.client_id, binding)
    rows, last = split_page(await concerns.list_concerns(session, caller, filters, after, limit + 1), limit)
    context.audit_rows("concern", rows)
    next_cursor = next_created_cursor(cursors, last, "concerns", caller.client_id, binding)
    return Page[ConcernPublic](items=[_public(concern) for concern in rows], next_cursor=next_cursor)


@router.patch(
    "/concerns/{concern_id}",
    operation_id="concerns-change-status",
    summary="Change a concern's status",
    responses={200: success("Changed.", ETAG_HEADER), **problems(404, 409, 412, 428)},
)
async def change_status(
    concern_id: uuid.UUID,
    change: ConcernStatusChange,
    caller: ConcernsWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ConcernPublic:
    """Move the concern along its workflow: `received → accepted | rejected | cancelled`,
    `accepted → in_progress | cancelled`, `in_progress → completed | cancelled` (anything else
    409). Only the raising agency and the agency it is reported to may do this (403). Send the
    ETag you read as `If-Match` (428 without, 412 when the concern changed since)."""
    precondition = require_if_match(if_match)
    concern = await fetch_visible(context, Concern, "concern", concern_id, for_update=True)
    concerns.ensure_may_change_status(caller, concern)
    check_if_match(precondition, etag_of(_public(concern)))
    return _respond(response, await concerns.change_status(session, caller, concern, change))
