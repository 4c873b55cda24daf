"""The access log for auditors: read, verify, and one child's access report (scope `audit:read`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import anyio
from fastapi import Query, Request, Security
from sqlalchemy import Select

from app.audit.queries import chain, chained_entries, log
from app.audit.sequencer import Sequencer
from app.audit.verify import run_verification
from app.enums import Outcome
from app.errors import NotFound
from app.http.deps import ContextDep, CursorsDep, SessionDep
from app.http.guard import current_caller
from app.http.paging import DEFAULT_LIMIT, CursorParam, LimitParam, split_page
from app.routers.responses import guarded_router, problems
from app.schemas.access_log import AccessLogEntryPublic, Verification
from app.schemas.common import Page, Timestamp
from app.security.caller import Caller
from app.security.tokens import TokenService
from app.services.children import get_child

router = guarded_router("access-log")
Auditor = Annotated[Caller, Security(current_caller, scopes=["audit:read"])]


async def _chain_pending(request: Request) -> None:
    """Entries are readable as soon as their response was sent: chain what is committed first."""
    sequencer: Sequencer = request.app.state.sequencer
    await sequencer.catch_up()


async def _page(
    session: SessionDep,
    statement: Select[Any],
    *,
    kind: str,
    caller: Caller,
    cursors: CursorsDep,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
) -> Page[AccessLogEntryPublic]:
    if cursor:
        (after,) = cursors.decode(cursor, kind, caller.client_id, filters)
        statement = statement.where(chain.c.seq > int(after))
    rows = (await session.execute(statement.order_by(chain.c.seq).limit(limit + 1))).mappings().all()
    page, last = split_page(list(rows), limit)
    next_cursor = cursors.encode(kind, caller.client_id, filters, [last["seq"]]) if last else None
    items = [AccessLogEntryPublic.model_validate(dict(row)) for row in page]
    return Page[AccessLogEntryPublic](items=items, next_cursor=next_cursor)


@router.get("/access-log", operation_id="access-log-list", summary="Read the access log")
async def read_access_log(
    request: Request,
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    child_id: uuid.UUID | None = None,
    client_id: Annotated[str | None, Query(max_length=128)] = None,
    agency_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Timestamp | None = Query(default=None, description="Entries at or after this time."),
    until: Timestamp | None = Query(default=None, description="Entries before this time."),
    outcome: Outcome | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AccessLogEntryPublic]:
    """Entries in chain order (`seq`), filtered. Reading the log is itself logged."""
    context.audit("access_log", None, child_id)
    await _chain_pending(request)
    statement = chained_entries()
    conditions = {
        "child_id": (log.c.child_id == child_id) if child_id else None,
        "client_id": (log.c.client_id == client_id) if client_id else None,
        "agency_id": (log.c.agency_id == agency_id) if agency_id else None,
        "since": (log.c.at >= since) if since else None,
        "until": (log.c.at < until) if until else None,
        "outcome": (log.c.outcome == outcome.value) if outcome else None,
    }
    for condition in conditions.values():
        if condition is not None:
            statement = statement.where(condition)
    filters: dict[str, Any] = {
        "child_id": child_id,
        "client_id": client_id,
        "agency_id": agency_id,
        "since": since,
        "until": until,
        "outcome": outcome,
    }
    return await _page(
        session,
        statement,
        kind="access-log",
        caller=caller,
        cursors=cursors,
        filters=filters,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/access-log/verify",
    operation_id="access-log-verify",
    summary="Verify the hash chain",
)
async def verify_access_log(caller: Auditor, context: ContextDep, request: Request) -> Verification:
    """Walk the whole chain and report whether it is intact, and where it first breaks. When it
    is intact, the verified head is signed with the service's key and stored as a checkpoint,
    which later verifications hold the chain to."""
    context.audit("access_log")
    tokens: TokenService = request.app.state.tokens
    result = await anyio.to_thread.run_sync(run_verification, request.app.state.settings, tokens.keys)
    return Verification.model_validate(result.summary())


@router.get(
    "/children/{child_id}/access-report",
    operation_id="access-log-child-report",
    summary="A child's access report (GDPR art. 15)",
    responses=problems(404),
)
async def child_access_report(
    request: Request,
    child_id: uuid.UUID,
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AccessLogEntryPublic]:
    """Every access to the child's records — reads, writes and denials — as log entries: when,
    which agency and client, what action, with what outcome (the extract the child and the
    guardians are entitled to)."""
    context.audit("access_report", None, child_id)
    if await get_child(session, child_id) is None:
        raise NotFound("There is no such child.")
    await _chain_pending(request)
    statement = chained_entries().where(log.c.child_id == child_id)
    return await _page(
        session,
        statement,
        kind="access-report",
        caller=caller,
        cursors=cursors,
        filters={"child_id": child_id},
        limit=limit,
        cursor=cursor,
    )
