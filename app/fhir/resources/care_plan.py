"""A child's plan → CarePlan. JSON twins: `plans-get`, `plans-list` (scope `plans:read`).

Mapping choices (FHIR vocabulary where it fits, this service's codes where it does not):
- `status` (required binding request-status): active → `active`, closed → `completed`; `intent`
  `plan`. `category` the plan's kind in this service's code system — a child's plan (barnets
  plan) or a SIP (samordnad individuell plan): neither has a national or HL7 code we could find.
- `author` the plan's agency (it has the overall responsibility); `careTeam` the plan's team;
  `supportingInfo` a SIP's consent; `period` from making to closing; `description` the summary;
  the child's and the guardians' views are `note`s (the child's authored by its Patient).
- `goal` references every goal (each its own Goal resource); each action is an `activity` whose
  `detail.status` (required binding care-plan-activity-status) maps planned → `not-started`,
  in_progress → `in-progress`, done → `completed`, cancelled → `cancelled`; `performer` the
  responsible agency, `scheduledPeriod.end` the due date, `goal` the action's goal, and each
  status change's note a `progress` annotation by the agency that made it, when it made it.
- The next review date has no CarePlan element: an extension (`plan-next-review-at`). Reviews
  show on the goals (achievementStatus, notes). The closing reason is not carried: R4's CarePlan
  has no element for it, and a bare note would not say what it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from app.enums import ActionStatus, PlanKind
from app.fhir.codes import NEXT_REVIEW_AT, PLAN_KIND
from app.fhir.paging import search_records
from app.fhir.views import (
    PATIENT,
    SUBJECT,
    FhirCall,
    Resource,
    ResourceView,
    SearchQuery,
    SearchResult,
    coding,
    day,
    instant,
    record_id,
    reference,
)
from app.models.plan import ACTIVE, Plan
from app.security.records import fetch_visible
from app.services import plans
from app.services.plans import PlanView

KIND_DISPLAY = {PlanKind.child_plan: "Barnets plan", PlanKind.sip: "Samordnad individuell plan (SIP)"}
ACTIVITY_STATUS = {
    ActionStatus.planned: "not-started",
    ActionStatus.in_progress: "in-progress",
    ActionStatus.done: "completed",
    ActionStatus.cancelled: "cancelled",
}


def _activity(action: Any) -> Resource:
    detail: Resource = {
        "status": ACTIVITY_STATUS[ActionStatus(action.status)],
        "description": action.text,
        "performer": [reference("Organization", action.responsible_agency_id)],
    }
    if action.goal_id is not None:
        detail["goal"] = [reference("Goal", action.goal_id)]
    if action.due_date is not None:
        detail["scheduledPeriod"] = {"end": day(action.due_date)}
    activity: Resource = {"detail": detail}
    progress = [
        {
            "authorReference": reference("Organization", change["agency_id"]),
            "time": instant(datetime.fromisoformat(change["changed_at"])),
            "text": change["note"],
        }
        for change in action.status_history
        if change.get("note")
    ]
    if progress:
        activity["progress"] = progress
    return activity


def to_care_plan(view: PlanView) -> Resource:
    plan = view.plan
    kind = PlanKind(plan.kind)
    period = {"start": instant(plan.created_at)}
    if plan.closed_at is not None:
        period["end"] = instant(plan.closed_at)
    resource: Resource = {
        "resourceType": "CarePlan",
        "id": str(plan.id),
        "meta": {"lastUpdated": instant(plan.updated_at)},
        "extension": [{"url": NEXT_REVIEW_AT, "valueDateTime": instant(plan.next_review_at)}],
        "status": "active" if plan.status == ACTIVE else "completed",
        "intent": "plan",
        "category": [{"coding": [coding(PLAN_KIND, kind.value, KIND_DISPLAY[kind])]}],
        "title": KIND_DISPLAY[kind],
        "subject": reference("Patient", plan.child_id),
        "period": period,
        "created": instant(plan.created_at),
        "author": reference("Organization", plan.agency_id),
    }
    if plan.summary:
        resource["description"] = plan.summary
    if plan.team_id is not None:
        resource["careTeam"] = [reference("CareTeam", plan.team_id)]
    if plan.consent_id is not None:
        resource["supportingInfo"] = [reference("Consent", plan.consent_id)]
    if view.goals:
        resource["goal"] = [reference("Goal", goal.id) for goal in view.goals]
    if view.actions:
        resource["activity"] = [_activity(action) for action in view.actions]
    notes = []
    if plan.child_views:
        notes.append({"authorReference": reference("Patient", plan.child_id), "text": plan.child_views})
    if plan.guardian_views:
        notes.append({"authorString": "guardian", "text": plan.guardian_views})
    if notes:
        resource["note"] = notes
    return resource


async def read(call: FhirCall, raw_id: str) -> Resource:
    plan = await fetch_visible(call.context, Plan, "plan", record_id(raw_id))
    (view,) = await plans.views_of(call.session, call.caller, [plan])
    return to_care_plan(view)


async def _care_plans(call: FhirCall, rows: list[Row[Any]]) -> list[Resource]:
    return [to_care_plan(view) for view in await plans.views_of(call.session, call.caller, rows)]


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    async def lister(session: Any, caller: Any, child_id: Any, after: Any, limit: int) -> Any:
        return await plans.list_plans(session, caller, child_id, None, after, limit)

    return await search_records(call, query, "CarePlan", "plan", lister, _care_plans)


VIEW = ResourceView(
    type="CarePlan",
    scopes=("plans:read",),
    twin="plans-get, plans-list",
    read=read,
    search=search,
    parameters=(PATIENT, SUBJECT),
    documentation="The child's plan (barnets plan) or SIP, by category: author the plan's agency, careTeam its "
    "team, goal its Goals, one activity per action (performer the responsible agency); status active or "
    "completed (closed).",
)
