"""The child's chronology (scope `children:read`; each record type also needs its own read scope)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Security

from app.errors import NotFound, unprocessable
from app.http.deps import ContextDep, CursorsDep, SessionDep
from app.http.guard import current_caller
from app.http.paging import DEFAULT_LIMIT, CursorParam, LimitParam, split_page
from app.routers.responses import guarded_router, problems
from app.schemas.chronology import ChronologyPage
from app.schemas.common import Timestamp
from app.security.caller import Caller
from app.services import chronology
from app.services.children import get_child
from app.services.chronology import ChronologyFilters

router = guarded_router("children")
ChildrenReader = Annotated[Caller, Security(current_caller, scopes=["children:read"])]
CURSOR_KIND = "chronology"


@router.get(
    "/children/{child_id}/chronology",
    operation_id="children-chronology",
    summary="A child's chronology",
    responses=problems(404),
)
async def child_chronology(
    child_id: uuid.UUID,
    caller: ChildrenReader,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> ChronologyPage:
    """The significant events of the child's records that the caller's agency may see now,
    oldest first: concerns raised, their status changes and decisions; assessments; consents
    recorded, confirmed, withdrawn and expired; teams formed, members added and ended, teams
    closed. Built by the same access rule as every read — a record the caller may not see
    contributes nothing — and a record type the token's scopes cannot read (`concerns:read`,
    `assessments:read`, `consents:read`, `teams:read`) is left out. `summary` is made from codes
    only, never from another agency's free text. `since` (inclusive) and `until` (exclusive)
    bound `at`. A record that becomes visible later (a consent confirmed) can add items before
    a page already read: follow changes with the event feed."""
    context.audit("chronology", child_id, child_id)
    if since is not None and until is not None and until <= since:
        raise unprocessable(["query", "until"], "must be after since")
    binding = {"child_id": str(child_id), "since": since, "until": until}
    after = None
    if cursor:
        after = chronology.parse_position(cursors.decode(cursor, CURSOR_KIND, caller.client_id, binding))
    if await get_child(session, child_id) is None:
        raise NotFound("There is no such child.")
    filters = ChronologyFilters(since=since, until=until)
    page = await chronology.chronology_page(session, caller, child_id, filters, after, limit + 1)
    rows, last = split_page(page, limit)
    next_cursor = None
    if last is not None:
        next_cursor = cursors.encode(CURSOR_KIND, caller.client_id, binding, chronology.position_of(last))
    return ChronologyPage(
        child_id=child_id, items=[chronology.item_public(row) for row in rows], next_cursor=next_cursor
    )
