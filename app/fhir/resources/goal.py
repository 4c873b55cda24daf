"""A goal of the child's plan → Goal. JSON twins: `plans-get-goal`, `plans-list` (scope `plans:read`).

A goal is read through its plan: the plan is loaded by `fetch_visible` (record type `plans`) and
logged as `plans-get-goal` logs it (the plan, with its child); a goal of a plan the caller may
not see is 404 exactly as a goal that does not exist. A search lists the goals of the plans the
caller may see, through the plans' rule in the query, and logs as `plans-list` does (`plan`, one
fact per child).

Mapping choices (FHIR vocabulary where it fits, this service's codes where it does not):
- `lifecycleStatus` (required binding goal-status): `cancelled` when the latest review found the
  goal no longer relevant; `completed` ("no longer being sought") when it was achieved or the
  plan is closed; else `active`.
- `achievementStatus`: the latest review's progress in FHIR's goal-achievement codes (achieved →
  `achieved`, progressing → `improving`, not_progressing → `no-progress`; no_longer_relevant has
  no counterpart — lifecycleStatus says it), with the review's own code beside it; `in-progress`
  while no review has rated it. `statusDate` is the day of that review.
- `category` the compass area (the same code system as a Task's areas), `description.text` the
  goal in its expresser's words, `target.dueDate` the target date.
- `expressedBy`: the child as its Patient; a guardian or a professional, whom this service does
  not hold as resources, as a typed display-only reference (RelatedPerson, Practitioner).
- Each review's progress note is a `note`, authored by the reviewing agency, at the review.
- Not used: `addresses` (Condition, Observation, RiskAssessment…) and `outcomeReference`
  (Observation) — the compass ratings a goal answers to are QuestionnaireResponse answers, which
  R4 does not allow there, and a review's progress is no Observation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from app.enums import GoalProgress, Perspective
from app.errors import NotFound
from app.fhir.codes import AREA, GOAL_ACHIEVEMENT, GOAL_PROGRESS
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
    concept,
    day,
    instant,
    record_id,
    reference,
)
from app.models.plan import ACTIVE, Plan
from app.security.records import fetch_visible
from app.services import plans
from app.services.plans import PlanView

ACHIEVEMENT = {
    GoalProgress.achieved: "achieved",
    GoalProgress.progressing: "improving",
    GoalProgress.not_progressing: "no-progress",
}
# Whom the service holds no resource for: a display-only reference of the fitting type.
EXPRESSER_TYPE = {Perspective.guardian: "RelatedPerson", Perspective.professional: "Practitioner"}


def _progress(reviews: Sequence[Row[Any]], goal_id: uuid.UUID) -> list[tuple[Row[Any], dict[str, Any]]]:
    """Each review's progress on this goal, oldest first (a review rates a goal at most once)."""
    return [
        (review, item)
        for review in sorted(reviews, key=lambda review: (review.held_at, review.created_at))
        for item in review.progress
        if item["goal_id"] == str(goal_id)
    ]


def _lifecycle(plan: Any, latest: GoalProgress | None) -> str:
    if latest == GoalProgress.no_longer_relevant:
        return "cancelled"
    if latest == GoalProgress.achieved or plan.status != ACTIVE:
        return "completed"
    return "active"


def _expressed_by(goal: Any, child_id: object) -> Resource:
    perspective = Perspective(goal.expressed_by)
    if perspective == Perspective.child:
        return reference("Patient", child_id)
    return {"type": EXPRESSER_TYPE[perspective], "display": perspective.value}


def to_goal(view: PlanView, goal: Any) -> Resource:
    plan = view.plan
    progress = _progress(view.reviews, goal.id)
    latest = GoalProgress(progress[-1][1]["status"]) if progress else None
    resource: Resource = {
        "resourceType": "Goal",
        "id": str(goal.id),
        "lifecycleStatus": _lifecycle(plan, latest),
        "category": [concept(AREA, goal.area)],
        "description": {"text": goal.text},
        "subject": reference("Patient", plan.child_id),
        "expressedBy": _expressed_by(goal, plan.child_id),
    }
    if latest is None:
        if resource["lifecycleStatus"] == "active":
            resource["achievementStatus"] = concept(GOAL_ACHIEVEMENT, "in-progress")
    else:
        codings = [coding(GOAL_ACHIEVEMENT, ACHIEVEMENT[latest])] if latest in ACHIEVEMENT else []
        resource["achievementStatus"] = {"coding": [*codings, coding(GOAL_PROGRESS, latest.value)]}
        resource["statusDate"] = day(progress[-1][0].held_at.date())
    if goal.target_date is not None:
        resource["target"] = [{"dueDate": day(goal.target_date)}]
    notes = [
        {"authorReference": reference("Organization", review.agency_id), "time": instant(review.held_at), "text": note}
        for review, item in progress
        if (note := item.get("note"))
    ]
    if notes:
        resource["note"] = notes
    return resource


async def read(call: FhirCall, raw_id: str) -> Resource:
    goal_id = record_id(raw_id)
    missing = NotFound(f"There is no goal {goal_id}.")
    plan_id = await plans.plan_id_of_goal(call.session, goal_id)
    if plan_id is None:
        call.context.audit("plan_goal", goal_id)
        raise missing
    try:
        plan = await fetch_visible(call.context, Plan, "plan", plan_id)  # logged as plans-get-goal logs it
    except NotFound:
        raise missing from None  # the same answer as a goal that does not exist (no plan id)
    (view,) = await plans.views_of(call.session, call.caller, [plan])
    goal = next(goal for goal in view.goals if goal.id == goal_id)
    return to_goal(view, goal)


async def _goals(call: FhirCall, rows: list[Row[Any]]) -> list[Resource]:
    visible = await plans.visible_plans(call.session, call.caller, {row.plan_id for row in rows})
    views = {view.plan.id: view for view in await plans.views_of(call.session, call.caller, visible)}
    # Both queries apply the rule; should a consent end between them, a goal whose plan is no
    # longer visible is left out rather than shown.
    return [to_goal(views[row.plan_id], row) for row in rows if row.plan_id in views]


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    return await search_records(call, query, "Goal", "plan", plans.list_goals, _goals)


VIEW = ResourceView(
    type="Goal",
    scopes=("plans:read",),
    twin="plans-get-goal, plans-list",
    read=read,
    search=search,
    parameters=(PATIENT, SUBJECT),
    documentation="A goal of the child's plan: category the compass area, lifecycleStatus active/completed/"
    "cancelled, achievementStatus from the latest review's progress, expressedBy the child, a guardian or a "
    "professional.",
)
