"""The access log for auditors: read, verify, and one child's access report (scope `audit:read`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from fastapi import Depends, Query, Request, Response, Security
from sqlalchemy import RowMapping

from app.audit import reports
from app.audit.extract import DESCRIPTION as EXTRACT_DESCRIPTION
from app.audit.extract import MEDIA_TYPE as EXTRACT_MEDIA_TYPE
from app.audit.log_filters import LogFilters
from app.audit.purpose import PurposeOfUse
from app.audit.verify import run_verification
from app.enums import AccessBasis, Outcome
from app.errors import NotFound
from app.http.deps import ContextDep, CursorsDep, KeysDep, SequencerDep, SessionDep, SettingsDep
from app.http.guard import current_caller
from app.http.paging import DEFAULT_LIMIT, CursorCodec, CursorParam, LimitParam, split_page
from app.routers.responses import guarded_router, problems
from app.routers.strict_query import reject_unknown_query
from app.schemas.access_log import AccessLogEntryPublic, Verification
from app.schemas.common import LINE_PATTERN, Page, Timestamp
from app.security.caller import Caller
from app.services.children import get_child

router = guarded_router("access-log")
Auditor = Annotated[Caller, Security(current_caller, scopes=["audit:read"])]


async def _chain_pending(sequencer: SequencerDep) -> None:
    """Entries are readable as soon as their response was sent: chain what is committed first."""
    await sequencer.catch_up()


async def _page(
    read: Callable[[int | None], Awaitable[list[RowMapping]]],
    *,
    kind: str,
    caller: Caller,
    cursors: CursorCodec,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
) -> Page[AccessLogEntryPublic]:
    """One page of entries: `read(after)` fetches them (app/audit/reports.py), the cursor binds the filters."""
    after = int(cursors.decode(cursor, kind, caller.client_id, filters)[0]) if cursor else None
    page, last = split_page(await read(after), limit)
    next_cursor = cursors.encode(kind, caller.client_id, filters, [last["seq"]]) if last else None
    items = [AccessLogEntryPublic.model_validate(dict(row)) for row in page]
    return Page[AccessLogEntryPublic](items=items, next_cursor=next_cursor)


@router.get(
    "/access-log",
    operation_id="access-log-list",
    summary="Read the access log",
    dependencies=[Depends(reject_unknown_query)],
)
async def read_access_log(
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    sequencer: SequencerDep,
    child_id: uuid.UUID | None = None,
    # Text filters are one line without control characters: PostgreSQL cannot compare a NUL (a 500).
    client_id: Annotated[str | None, Query(max_length=128, pattern=LINE_PATTERN)] = None,
    agency_id: Annotated[str | None, Query(max_length=64, pattern=LINE_PATTERN)] = None,
    since: Timestamp | None = Query(default=None, description="Entries at or after this time."),
    until: Timestamp | None = Query(default=None, description="Entries before this time."),
    outcome: Outcome | None = None,
    action: Annotated[
        str | None, Query(max_length=64, pattern=LINE_PATTERN, description="The operation, e.g. `concerns-get`.")
    ] = None,
    resource_type: Annotated[str | None, Query(max_length=32, pattern=LINE_PATTERN)] = None,
    resource_id: Annotated[str | None, Query(max_length=64, pattern=LINE_PATTERN)] = None,
    access_basis: AccessBasis | None = None,
    purpose_of_use: PurposeOfUse | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AccessLogEntryPublic]:
    """Entries in chain order (`seq`), filtered. An unknown query parameter is 422 (a misspelt
    filter must not return the whole log). Reading the log is itself logged."""
    context.audit("access_log", None, child_id)
    await _chain_pending(sequencer)
    filters = LogFilters(
        child_id=child_id,
        client_id=client_id,
        agency_id=agency_id,
        since=since,
        until=until,
        outcome=outcome.value if outcome else None,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        access_basis=access_basis.value if access_basis else None,
        purpose_of_use=purpose_of_use.value if purpose_of_use else None,
    )
    return await _page(
        lambda after: reports.filtered_entries(session, filters, after=after, limit=limit),
        kind="access-log",
        caller=caller,
        cursors=cursors,
        filters=filters.binding(),
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/access-log/verify",
    operation_id="access-log-verify",
    summary="Verify the hash chain",
)
async def verify_access_log(caller: Auditor, context: ContextDep, settings: SettingsDep, keys: KeysDep) -> Verification:
    """Walk the whole chain and report whether it is intact, and where it first breaks. When it
    is intact, the verified head is signed with the service's key and stored as a checkpoint,
    which later verifications hold the chain to."""
    context.audit("access_log")
    result = await anyio.to_thread.run_sync(run_verification, settings, keys)
    return Verification.model_validate(result.summary())


@router.get(
    "/children/{child_id}/access-report",
    operation_id="access-log-child-report",
    summary="A child's access report (GDPR art. 15)",
    dependencies=[Depends(reject_unknown_query)],
    responses={
        200: {
            "description": "The entries as a page of JSON, or with `Accept: application/jose` the signed extract.",
            "content": {EXTRACT_MEDIA_TYPE: {"schema": {"type": "string", "description": EXTRACT_DESCRIPTION}}},
        },
        **problems(404),
    },
)
async def child_access_report(
    request: Request,
    child_id: uuid.UUID,
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    sequencer: SequencerDep,
    keys: KeysDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AccessLogEntryPublic]:
    """Every access to the child's records — reads, writes and denials — as log entries: when,
    which agency and client, what action, with what outcome (the extract the child and the
    guardians are entitled to). With `Accept: application/jose`: the whole report as one compact
    JWS the family can check offline (README: the family's extract)."""
    context.audit("access_report", None, child_id)
    if await get_child(session, child_id) is None:
        raise NotFound("There is no such child.")
    await _chain_pending(sequencer)
    if EXTRACT_MEDIA_TYPE in request.headers.get("accept", ""):
        extract = await reports.child_extract(session, keys, child_id)
        return Response(extract, media_type=EXTRACT_MEDIA_TYPE)  # type: ignore[return-value]
    return await _page(
        lambda after: reports.child_entries(session, child_id, after=after, limit=limit),
        kind="access-report",
        caller=caller,
        cursors=cursors,
        filters={"child_id": child_id},
        limit=limit,
        cursor=cursor,
    )
