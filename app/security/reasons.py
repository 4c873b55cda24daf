"""Reasons stay with their writer: who may read the free text another agency wrote on a concern.

Seeing a concern (app/security/access.py) is not the same as reading every word on it. A status
reason ("Utredning inleds enligt 11 kap. 1 § SoL …") is the writer's own record: social services
may tell a reporter *whether* an investigation was opened (the decision, a code) but not why,
unless the family consents. So a reason written by another agency is readable only while an
active consent for the child, confirmed by the writer's agency (it discloses), names both
agencies and covers `concerns` — the consent rule itself (`consent_links`), decided in SQL.

Only the raising agency and the agency a concern is reported to may change its status (app/
services/concerns.py), so those two are the only possible writers; a writer that is neither is
never readable (fail closed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.enums import RecordType
from app.models.base import table_of
from app.models.concern import Concern
from app.security.access import CALLER_AGENCY, StatementTime, caller_parameters, consent_links

_concerns = table_of(Concern)


def _readable(writer: ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(
        writer == CALLER_AGENCY,
        consent_links(_concerns.c.child_id, CALLER_AGENCY, writer, RecordType.concerns, StatementTime()),
    )


# Built once: per concern, whether the caller may read what its raising agency and what its
# reported-to agency wrote.
_READABLE_WRITERS = select(
    _concerns.c.id,
    _readable(_concerns.c.agency_id).label("raiser"),
    _readable(_concerns.c.report_to_agency_id).label("reported_to"),
).where(_concerns.c.id.in_(bindparam("concern_ids", expanding=True)))


class _ConcernLike(Protocol):
    id: uuid.UUID
    agency_id: str
    report_to_agency_id: str | None
    status_history: list[dict[str, Any]]


def _foreign_reasons(concern: _ConcernLike, agency_id: str) -> bool:
    return any(item.get("reason") is not None and item.get("agency_id") != agency_id for item in concern.status_history)


async def readable_writers(
    session: AsyncSession, agency_id: str, concerns: Sequence[_ConcernLike]
) -> dict[uuid.UUID, frozenset[str]]:
    """Per concern, the agencies whose reasons the caller's agency may read (its own always).

    One query for the whole page, and none when no concern carries another agency's reason
    (the common case: most status changes have none, or only the caller's own).
    """
    readable = {concern.id: frozenset({agency_id}) for concern in concerns}
    undecided = [concern for concern in concerns if _foreign_reasons(concern, agency_id)]
    if not undecided:
        return readable
    by_id = {concern.id: concern for concern in undecided}
    parameters = {**caller_parameters(agency_id), "concern_ids": list(by_id)}
    for row in await session.execute(_READABLE_WRITERS, parameters):
        concern = by_id[row.id]
        writers: Iterable[str | None] = (
            concern.agency_id if row.raiser else None,
            concern.report_to_agency_id if row.reported_to else None,
        )
        readable[row.id] = readable[row.id] | {writer for writer in writers if writer is not None}
    return readable
