"""The access paths for child records: one record (load, decide, log, or 404), a page, and
whether the caller may change a record it sees.

Every endpoint that reads or changes one concern, consent, assessment or team loads it here
(through the loader dependencies of app/http/loaders.py), every list of them is a page from
`visible_page`, and every write asks `ensure_may_change` first.
The access rule (app/security/access.py) is evaluated in the same query as the record, and the
log learns which record and which child the request was aimed at — also when it is refused,
so the refusal appears in that child's access report.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Row, Uuid, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.enums import TeamRole
from app.errors import Forbidden, NotFound
from app.http.context import RequestContext
from app.models.base import table_of
from app.models.concern import Concern
from app.models.team import Team, TeamMember
from app.observability import ACCESS_DENIALS
from app.security.access import caller_basis, caller_parameters, caller_rule, table_for
from app.security.caller import Caller

M = TypeVar("M", bound=SQLModel)


@lru_cache(maxsize=32)
def _record_with_visibility(model: type[SQLModel], resource_type: str, for_update: bool) -> Any:
    """SELECT the record and whether the caller may see it — built once, reused by every request."""
    table = table_of(model)
    visible = caller_rule(resource_type).label("visible")
    basis, consent_id = caller_basis(resource_type)
    # Why the caller may see it comes back with the row, for the log (access_basis,
    # access_consent_id: not `consent_id`, which a record may have itself — a SIP's basis).
    reasons = (basis.label("access_basis"), consent_id.label("access_consent_id"))
    by_id = table.c.id == bindparam("record_id", type_=Uuid())
    if for_update:
        return select(model, visible, *reasons).where(by_id).with_for_update(of=table)
    return select(table, visible, *reasons).where(by_id)


async def fetch_visible(
    context: RequestContext,
    model: type[M],
    resource_type: str,
    record_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> M:
    """The record when the caller may see it; otherwise 404, indistinguishable from "no such"."""
    caller = context.caller
    assert caller is not None, "fetch_visible runs behind GuardedRoute"
    statement = _record_with_visibility(model, resource_type, for_update)
    parameters = {**caller_parameters(caller.agency_id), "record_id": record_id}
    if for_update:  # an ORM object, to be changed and flushed by the service
        row = (await context.session().execute(statement, parameters)).first()
    else:  # a plain row: reads skip the ORM session (the row reads like the model)
        row = (await (await context.connection()).execute(statement, parameters)).first()
    if row is None:
        context.audit(resource_type, record_id)
        raise NotFound(f"There is no {resource_type} {record_id}.")
    record, is_visible = (row[0], row[1]) if for_update else (row, row.visible)
    if not is_visible:
        context.audit(resource_type, record_id, record.child_id)
        ACCESS_DENIALS.labels(resource_type).inc()
        raise NotFound(f"There is no {resource_type} {record_id}.")
    context.audit(resource_type, record_id, record.child_id, basis=row.access_basis, consent_id=row.access_consent_id)
    return cast(M, record)  # for reads, a row with the model's columns (attribute access alike)


async def visible_page(
    session: AsyncSession,
    caller: Caller,
    resource_type: str,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    *conditions: ColumnElement[bool],
) -> Sequence[Row[Any]]:
    """The caller's visible records of one kind, oldest first (`created_at`, then `id`), after a
    cursor's position; the access rule and the filters run in the query, never after loading.
    Each row also says why it is visible (`access_basis`, `access_consent_id`: context.audit_rows)."""
    table = table_for(resource_type)
    basis, consent_id = caller_basis(resource_type)
    statement = (
        select(table, basis.label("access_basis"), consent_id.label("access_consent_id"))
        .where(caller_rule(resource_type), *conditions)
        .order_by(table.c.created_at, table.c.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(tuple_(table.c.created_at, table.c.id) > tuple_(*after))
    # Plain rows (they read like the model): a page of ORM objects costs more than its query.
    return (await session.execute(statement, caller_parameters(caller.agency_id))).all()


async def ensure_may_change(session: AsyncSession, caller: Caller, resource_type: str, record: Any) -> None:
    """May the caller change this record it may see? The one answer, asked by every write.

    * a concern: the raising agency and the agency it is reported to (they handle it);
    * a team: the team's agency and the agency of its active coordinator (they manage it);
    * a consent: every agency it names — exactly the agencies that may see it;
    * an assessment is never changed.

    Anyone else is refused with 403: it may see the record, so the refusal reveals nothing.
    """
    if resource_type == "concern":
        concern = cast(Concern, record)
        if caller.agency_id not in (concern.agency_id, concern.report_to_agency_id):
            raise Forbidden("Only the raising agency and the agency it is reported to may change its status.")
    elif resource_type == "team":
        await _ensure_may_manage_team(session, caller, cast(Team, record))
    elif resource_type != "consent":
        raise Forbidden(f"A {resource_type} cannot be changed.")


_members = table_of(TeamMember)


async def _ensure_may_manage_team(session: AsyncSession, caller: Caller, team: Team) -> None:
    if caller.agency_id == team.agency_id:
        return
    coordinator = (
        await session.execute(
            select(_members.c.id).where(
                _members.c.team_id == team.id,
                _members.c.role == TeamRole.coordinator.value,
                _members.c.agency_id == caller.agency_id,
                _members.c.ended_at.is_(None),
            )
        )
    ).first()
    if coordinator is None:
        raise Forbidden("Only the team's agency and its coordinator's agency may change the team.")
