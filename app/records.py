"""The one access path for a single child record: load, decide, log, or 404.

Every endpoint that reads or changes one concern, consent, assessment or team loads it here.
The access rule (app/security/access.py) is evaluated in the same query as the record, and the
log learns which record and which child the request was aimed at — also when it is refused,
so the refusal appears in that child's access report.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import SQLModel

from app.context import RequestContext
from app.errors import NotFound
from app.models.base import table_of, utcnow
from app.observability import ACCESS_DENIALS
from app.security.access import rule_for

M = TypeVar("M", bound=SQLModel)


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
    table = table_of(model)
    visible = rule_for(resource_type, caller.agency_id, utcnow()).label("visible")
    statement: Any = select(model, visible).where(table.c.id == record_id)
    if for_update:
        statement = statement.with_for_update(of=table)
    row = (await context.session().execute(statement)).first()
    if row is None:
        context.audit(resource_type, record_id)
        raise NotFound(f"There is no {resource_type} {record_id}.")
    record, is_visible = row
    context.audit(resource_type, record_id, record.child_id)
    if not is_visible:
        ACCESS_DENIALS.labels(resource_type).inc()
        raise NotFound(f"There is no {resource_type} {record_id}.")
    return record
