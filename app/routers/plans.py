"""The child's plan — barnets plan and SIP: goals, actions, reviews (scopes `plans:*`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Response, Security
from sqlalchemy import Row

from app.enums import Area, Perspective, PlanStatus
from app.http.deps import ContextDep, CursorsDep, SessionDep
from app.http.etag import check_if_match, etag_of, require_if_match
from app.http.guard import current_caller
from app.http.idempotency import IdempotencyDep
from app.http.loaders import locked, visible
from app.http.paging import (
    DEFAULT_LIMIT,
    CreatedPaging,
    CursorParam,
    LimitParam,
)
from app.models.plan import Plan, PlanAction, PlanGoal, PlanReview
from app.routers.responses import ETAG_HEADER, LOCATION_HEADER, created, guarded_router, links, problems, success
from app.schemas.assessment import CompassArea
from app.schemas.common import Page
from app.schemas.plans import (
    ActionCreate,
    ActionPublic,
    ActionStatusChange,
    GoalCreate,
    GoalPublic,
    PlanClose,
    PlanCreate,
    PlanPublic,
    ReviewCreate,
    ReviewPublic,
)
from app.security.caller import Caller
from app.services import plans
from app.services.plan_errors import ActionTransitionNotAllowed, PlanAlreadyActive, PlanClosed
from app.services.plans import Compass, PlanView

router = guarded_router("plans")
PlansReader = Annotated[Caller, Security(current_caller, scopes=["plans:read"])]
PlansWriter = Annotated[Caller, Security(current_caller, scopes=["plans:write"])]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="The plan's ETag you read; required (428 without it).")
]
VisiblePlan = Annotated[Plan, Depends(visible(Plan, "plan", "plan_id"))]
# Locked, not `changeable`: who may write depends on what is written (the plan's agency or an
# active team member's for goals and reviews, the responsible agency for an action's status).
LockedPlan = Annotated[Plan, Depends(locked(Plan, "plan", "plan_id"))]
# The plan's loader reads `plan_id` itself; routes with a second path id name it first too, so
# that the spec lists the path's ids in the path's order (/plans/{plan_id}/goals/{goal_id}).
PlanIdFirst = uuid.UUID
PLAN_PATH = {"plan_id": "$request.path.plan_id"}


async def _plan_if_match(if_match: IfMatch = None) -> str:
    return require_if_match(if_match)


# Declared before the plan's loader, so that a missing If-Match is 428 before the plan loads.
PlanIfMatch = Annotated[str, Depends(_plan_if_match)]


def _goal(goal: PlanGoal | Row[Any], compass: Compass | None) -> GoalPublic:
    area = Area(goal.area)
    in_area: dict[Perspective, CompassArea] | None = None
    if compass is not None:
        in_area = {perspective: areas[area] for perspective, areas in compass.items() if area in areas}
    public = GoalPublic.model_validate(goal, from_attributes=True)
    public.compass = in_area
    return public


def _action(action: PlanAction | Row[Any]) -> ActionPublic:
    return ActionPublic.model_validate(action, from_attributes=True)


def _review(review: PlanReview | Row[Any]) -> ReviewPublic:
    return ReviewPublic.model_validate(review, from_attributes=True)


def _public(view: PlanView) -> PlanPublic:
    plan = view.plan
    return PlanPublic(
        id=plan.id,
        child_id=plan.child_id,
        agency_id=plan.agency_id,
        kind=plan.kind,
        team_id=plan.team_id,
        consent_id=plan.consent_id,
        status=plan.status,
        summary=plan.summary,
        child_views=plan.child_views,
        guardian_views=plan.guardian_views,
        next_review_at=plan.next_review_at,
        closed_at=plan.closed_at,
        closed_reason=plan.closed_reason,
        goals=[_goal(goal, view.compass) for goal in view.goals],
        actions=[_action(action) for action in view.actions],
        reviews=[_review(review) for review in view.reviews],
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def _etag(public: PlanPublic) -> str:
    """The plan's own state: the goals' compass follows new assessments (and differs by reader),
    which must not make an `If-Match` on the plan fail."""
    goals = [goal.model_copy(update={"compass": None}) for goal in public.goals]
    return etag_of(public.model_copy(update={"goals": goals}))


def _respond(response: Response, view: PlanView) -> PlanPublic:
    public = _public(view)
    response.headers["ETag"] = _etag(public)
    return public


async def _view(session: SessionDep, caller: Caller, plan: Plan | Row[Any]) -> PlanView:
    (view,) = await plans.views_of(session, caller, [plan])
    return view


@router.post(
    "/plans",
    operation_id="plans-create",
    summary="Make the child's plan",
    status_code=201,
    responses={
        201: created(
            "Made.",
            ("GetPlan", "plans-get", {"plan_id": "$response.body#/id"}),
            ("AddGoal", "plans-add-goal", {"plan_id": "$response.body#/id"}),
            ("AddAction", "plans-add-action", {"plan_id": "$response.body#/id"}),
            ("AddReview", "plans-add-review", {"plan_id": "$response.body#/id"}),
            ("Close", "plans-close", {"plan_id": "$response.body#/id"}),
        ),
        **problems(PlanAlreadyActive),
    },
)
async def create_plan(
    data: PlanCreate,
    caller: PlansWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
) -> PlanPublic:
    """One active plan per child among the agencies that can see it: a second is 409 (a plan the
    caller cannot see neither blocks it nor is revealed). The caller's agency is the plan's and
    has the overall responsibility. A `sip` needs an active consent for the child that covers
    plans, names the caller's agency, a social-services and a health-care agency, and is confirmed
    by each of them (422 `sip-consent-missing` otherwise)."""
    plan = await plans.create_plan(session, caller, data)
    context.audit("plan", plan.id, plan.child_id)
    response.headers["Location"] = f"/api/v1/plans/{plan.id}"
    return _respond(response, await _view(session, caller, plan))


@router.get(
    "/plans/{plan_id}",
    operation_id="plans-get",
    summary="Get a plan",
    responses={200: success("The plan with its goals, actions and reviews.", ETAG_HEADER), **problems(404)},
)
async def get_plan(plan: VisiblePlan, caller: PlansReader, session: SessionDep, response: Response) -> PlanPublic:
    """Visible to the plan's agency, and to an agency named with it in an active consent for the
    child that covers plans and that the plan's agency has confirmed. Each goal carries its area
    of the child's needs compass — the latest and previous ratings the caller may see — so a
    review sees what changed."""
    return _respond(response, await _view(session, caller, plan))


@router.get("/plans", operation_id="plans-list", summary="List plans")
async def list_plans(
    caller: PlansReader,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    child_id: uuid.UUID | None = None,
    status: PlanStatus | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[PlanPublic]:
    """The plans the caller's agency may see, oldest first, each in full."""
    binding = {"child_id": child_id, "status": status}
    paging = CreatedPaging.resume(cursors, cursor, "plans", caller.client_id, binding, limit)
    rows, next_cursor = paging.cut(
        await plans.list_plans(session, caller, child_id, status, paging.after, paging.fetch)
    )
    context.audit_children("plan", [plan.child_id for plan in rows])
    views = await plans.views_of(session, caller, rows)
    return Page[PlanPublic](items=[_public(view) for view in views], next_cursor=next_cursor)


def _part_created(description: str, name: str, operation_id: str, part: str) -> dict[str, Any]:
    return {
        **success(description, LOCATION_HEADER),
        **links((name, operation_id, {**PLAN_PATH, part: "$response.body#/id"})),
    }


@router.post(
    "/plans/{plan_id}/goals",
    operation_id="plans-add-goal",
    summary="Add a goal",
    status_code=201,
    responses={201: _part_created("Added.", "GetGoal", "plans-get-goal", "goal_id"), **problems(404, PlanClosed)},
)
async def add_goal(
    plan: LockedPlan,
    data: GoalCreate,
    caller: PlansWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
) -> GoalPublic:
    """What should get better, in one compass area, in the words of whoever expressed it (the
    child, a guardian, a professional). By the plan's agency or an active team member's (403);
    a closed plan takes none (409)."""
    goal = await plans.add_goal(session, caller, plan, data)
    context.audit("plan_goal", goal.id, plan.child_id)
    response.headers["Location"] = f"/api/v1/plans/{plan.id}/goals/{goal.id}"
    return _goal(goal, (await _view(session, caller, plan)).compass)


@router.get(
    "/plans/{plan_id}/goals/{goal_id}",
    operation_id="plans-get-goal",
    summary="Get a goal",
    responses=problems(404),
)
async def get_goal(
    plan_id: PlanIdFirst, plan: VisiblePlan, goal_id: uuid.UUID, caller: PlansReader, session: SessionDep
) -> GoalPublic:
    """One goal of a plan the caller may see, with its compass area."""
    goal = await plans.find_part(session, PlanGoal, plan, goal_id)
    return _goal(goal, (await _view(session, caller, plan)).compass)


@router.post(
    "/plans/{plan_id}/actions",
    operation_id="plans-add-action",
    summary="Add an action",
    status_code=201,
    responses={
        201: {
            **success("Added.", LOCATION_HEADER),
            **links(
                ("GetAction", "plans-get-action", {**PLAN_PATH, "action_id": "$response.body#/id"}),
                ("ChangeStatus", "plans-change-action-status", {**PLAN_PATH, "action_id": "$response.body#/id"}),
            ),
        },
        **problems(404, PlanClosed),
    },
)
async def add_action(
    plan: LockedPlan,
    data: ActionCreate,
    caller: PlansWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
) -> ActionPublic:
    """Who does what by when, optionally for one of the plan's goals (422 `goal-not-in-plan`
    otherwise). The responsible agency is the plan's or one linked to it by an active consent for
    the child that covers plans and is confirmed by the plan's agency (422
    `responsible-agency-not-linked`). Starts `planned`."""
    action = await plans.add_action(session, caller, plan, data)
    context.audit("plan_action", action.id, plan.child_id)
    response.headers["Location"] = f"/api/v1/plans/{plan.id}/actions/{action.id}"
    return _action(action)


@router.get(
    "/plans/{plan_id}/actions/{action_id}",
    operation_id="plans-get-action",
    summary="Get an action",
    responses=problems(404),
)
async def get_action(
    plan_id: PlanIdFirst, plan: VisiblePlan, action_id: uuid.UUID, caller: PlansReader, session: SessionDep
) -> ActionPublic:
    """One action of a plan the caller may see, with its status history."""
    return _action(await plans.find_action(session, plan, action_id))


@router.patch(
    "/plans/{plan_id}/actions/{action_id}",
    operation_id="plans-change-action-status",
    summary="Change an action's status",
    responses={
        200: success("Changed; the plan.", ETAG_HEADER),
        **problems(404, PlanClosed, ActionTransitionNotAllowed, 412, 428),
    },
)
async def change_action_status(
    plan_id: PlanIdFirst,
    action_id: uuid.UUID,
    change: ActionStatusChange,
    caller: PlansWriter,
    session: SessionDep,
    response: Response,
    precondition: PlanIfMatch,
    plan: LockedPlan,
) -> PlanPublic:
    """`planned → in_progress | done | cancelled`, `in_progress → done | cancelled`; done and
    cancelled are final (409). By the plan's agency or the action's responsible agency (403).
    Send the plan's ETag as `If-Match` (428 without, 412 when the plan changed since). The change
    is appended to the action's `status_history`."""
    action = await plans.find_action(session, plan, action_id)
    plans.ensure_may_change_action(caller, plan, action)
    check_if_match(precondition, _etag(_public(await _view(session, caller, plan))))
    await plans.change_action_status(session, caller, plan, action, change)
    return _respond(response, await _view(session, caller, plan))


@router.post(
    "/plans/{plan_id}/reviews",
    operation_id="plans-add-review",
    summary="Record a review",
    status_code=201,
    responses={
        201: _part_created("Recorded.", "GetReview", "plans-get-review", "review_id"),
        **problems(404, PlanClosed),
    },
)
async def add_review(
    plan: LockedPlan,
    data: ReviewCreate,
    caller: PlansWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
) -> ReviewPublic:
    """Progress per goal (each a goal of this plan: 422 `goal-not-in-plan` otherwise), held
    (`held_at`) not in the future; `next_review_at` moves the plan's next review, and is needed
    once the plan's review date has passed. By the plan's agency or an active team member's."""
    review = await plans.add_review(session, caller, plan, data)
    context.audit("plan_review", review.id, plan.child_id)
    response.headers["Location"] = f"/api/v1/plans/{plan.id}/reviews/{review.id}"
    return _review(review)


@router.get(
    "/plans/{plan_id}/reviews/{review_id}",
    operation_id="plans-get-review",
    summary="Get a review",
    responses=problems(404),
)
async def get_review(
    plan_id: PlanIdFirst, plan: VisiblePlan, review_id: uuid.UUID, caller: PlansReader, session: SessionDep
) -> ReviewPublic:
    """One review of a plan the caller may see."""
    return _review(await plans.find_part(session, PlanReview, plan, review_id))


@router.post(
    "/plans/{plan_id}/close",
    operation_id="plans-close",
    summary="Close the plan",
    responses={200: success("Closed.", ETAG_HEADER), **problems(404, PlanClosed)},
)
async def close_plan(
    plan: LockedPlan,
    data: PlanClose,
    caller: PlansWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
) -> PlanPublic:
    """By the plan's agency or an active team member's; a closed plan takes no goals, actions,
    status changes or reviews (409), and a new plan can then be made for the child."""
    await plans.close_plan(session, caller, plan, data)
    return _respond(response, await _view(session, caller, plan))
