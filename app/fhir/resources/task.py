"""A concern → Task. JSON twins: `concerns-get`, `concerns-list` (scope `concerns:read`).

The raising agency is the `requester`; the `owner` is the social-services agency a mandatory
report (orosanmälan) goes to, else the raising agency, which handles its own concern. Areas,
urgency and status are codes; the status history's free-text reasons are not carried: a reason
is its writer's text (contract v1.1, "reasons stay with their writer"), and a code-only view
cannot leak one. `businessStatus` carries social services' decision on a mandatory report
(återkoppling: investigation opened, not opened, already ongoing) as its code, absent until it is
recorded — shown to whoever may see the concern, as the JSON concern's `decision` is; its reasons
are never recorded here, so none can be shown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from app.enums import ConcernStatus
from app.fhir.codes import AREA, CONCERN_KIND, DECISION, TASK_INPUT
from app.fhir.paging import search_records
from app.fhir.views import (
    PATIENT,
    SUBJECT,
    FhirCall,
    Resource,
    ResourceView,
    SearchQuery,
    SearchResult,
    concept,
    instant,
    record_id,
    reference,
)
from app.models.concern import Concern
from app.security.records import fetch_visible
from app.services import concerns
from app.services.concerns import ConcernFilters

TASK_STATUS = {
    ConcernStatus.received: "requested",
    ConcernStatus.accepted: "accepted",
    ConcernStatus.rejected: "rejected",
    ConcernStatus.in_progress: "in-progress",
    ConcernStatus.completed: "completed",
    ConcernStatus.cancelled: "cancelled",
}
TASK_PRIORITY = {"routine": "routine", "urgent": "urgent", "immediate": "stat"}


def _input(code: str, **value: Any) -> Resource:
    return {"type": concept(TASK_INPUT, code), **value}


def to_task(concern: Concern | Row[Any]) -> Resource:
    reported = concern.report_to_agency_id is not None
    inputs = [_input("area", valueCodeableConcept=concept(AREA, area)) for area in concern.areas]
    if concern.observed_at is not None:
        inputs.append(_input("observed-at", valueDateTime=instant(concern.observed_at)))
    decided = {} if concern.decision is None else {"businessStatus": concept(DECISION, concern.decision)}
    return {
        "resourceType": "Task",
        "id": str(concern.id),
        "meta": {"lastUpdated": instant(concern.updated_at)},
        "status": TASK_STATUS[ConcernStatus(concern.status)],
        **decided,
        # A mandatory report obliges social services to assess it (an order); a concern kept
        # within the raising agency is its own proposal to act.
        "intent": "order" if reported else "proposal",
        "priority": TASK_PRIORITY[concern.urgency],
        "code": concept(CONCERN_KIND, "mandatory-report" if reported else "concern"),
        "description": concern.description,
        "for": reference("Patient", concern.child_id),
        "authoredOn": instant(concern.created_at),
        "lastModified": instant(concern.updated_at),
        "requester": reference("Organization", concern.agency_id),
        "owner": reference("Organization", concern.report_to_agency_id or concern.agency_id),
        "input": inputs,
    }


async def read(call: FhirCall, raw_id: str) -> Resource:
    return to_task(await fetch_visible(call.context, Concern, "concern", record_id(raw_id)))


async def _tasks(_call: FhirCall, rows: list[Row[Any]]) -> list[Resource]:
    return [to_task(row) for row in rows]


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    async def lister(session: Any, caller: Any, child_id: Any, after: Any, limit: int) -> Any:
        return await concerns.list_concerns(session, caller, ConcernFilters(child_id=child_id), after, limit)

    return await search_records(call, query, "Task", "concern", lister, _tasks)


VIEW = ResourceView(
    type="Task",
    scopes=("concerns:read",),
    twin="concerns-get, concerns-list",
    read=read,
    search=search,
    parameters=(PATIENT, SUBJECT),
    documentation="A concern (oro) or mandatory report (orosanmälan): requester the raising agency, owner the "
    "agency it is reported to; status requested/accepted/rejected/in-progress/completed/cancelled; businessStatus "
    "the decision code (investigation_opened/not_opened/already_ongoing) once recorded.",
)
