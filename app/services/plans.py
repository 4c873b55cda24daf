"""The child's plan: making it (a SIP only on the right consent), appending goals, actions and
reviews, moving an action's status, closing it — and reading it with each goal's compass.

Who may see a plan is the access rule's (app/security/access.py, record type `plans`). Who may
write in one is decided here: the plan's agency, and the agencies of active members of the
plan's team (they reach this only for a plan they may see). Nothing is rewritten: goals and
reviews are appended (the database refuses to change them), an action's status changes are
appended to its history.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, exists, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.enums import (
    ACTION_TRANSITIONS,
    ActionStatus,
    AgencyKind,
    Area,
    EventType,
    Perspective,
    PlanKind,
    PlanStatus,
    RecordType,
)
from app.errors import NotFound, unprocessable
from app.events.outbox import publish
from app.models.agency import Agency
from app.models.assessment import Assessment
from app.models.base import table_of, utcnow
from app.models.consent import Consent, ConsentConfirmation
from app.models.plan import ACTIVE, CLOSED, Plan, PlanAction, PlanGoal, PlanReview
from app.models.team import OPEN, TeamMember
from app.schemas.assessment import CompassArea
from app.schemas.plans import ActionCreate, ActionStatusChange, GoalCreate, PlanClose, PlanCreate, ReviewCreate
from app.security.access import caller_parameters, caller_rule, consent_is_active, consent_links, table_for
from app.security.caller import Caller
from app.security.records import visible_page
from app.services.assessments import compass_from
from app.services.children import lock_child
from app.services.plan_errors import (
    ActionTransitionNotAllowed,
    GoalNotInPlan,
    NotAPlanWriter,
    PlanAlreadyActive,
    PlanClosed,
    ResponsibleAgencyNotLinked,
    SipConsentMissing,
)

CLOCK_SKEW = timedelta(minutes=5)
_plans = table_of(Plan)
_goals = table_of(PlanGoal)
_actions = table_of(PlanAction)
_reviews = table_of(PlanReview)
_members = table_of(TeamMember)
_assessments = table_of(Assessment)
_consents = table_of(Consent)
_confirmations = table_of(ConsentConfirmation)
_agencies = table_of(Agency)

Compass = dict[Perspective, dict[Area, CompassArea]]


@dataclass(frozen=True)
class PlanView:
    plan: Plan | Row[Any]
    goals: list[Row[Any]]
    actions: list[Row[Any]]
    reviews: list[Row[Any]]
    compass: Compass | None  # None: the caller may not read assessments (police)


# -- making a plan ------------------------------------------------------------------------------


async def create_plan(session: AsyncSession, caller: Caller, data: PlanCreate) -> Plan:
    """One active plan per child among the agencies that can see it (as for teams): a plan the
    caller cannot see neither blocks it nor is revealed. Creates for one child are serialised by
    a lock on the child; the database backs this up with one active plan per child and agency."""
    now = utcnow()
    await lock_child(session, data.child_id)
    if data.next_review_at <= now:
        raise unprocessable(["body", "next_review_at"], "must lie in the future")
    if data.team_id is not None:
        await _require_team(session, caller, data.child_id, data.team_id)
    consent_id = await _sip_consent(session, caller, data.child_id) if data.kind == PlanKind.sip else None
    visible_active = select(_plans.c.id).where(
        _plans.c.child_id == data.child_id, _plans.c.status == ACTIVE, caller_rule("plan")
    )
    if (await session.execute(visible_active.limit(1), caller_parameters(caller.agency_id))).first() is not None:
        raise PlanAlreadyActive("The child already has an active plan that your agency can see; close it first.")
    plan = Plan(
        child_id=data.child_id,
        agency_id=caller.agency_id,
        kind=data.kind.value,
        team_id=data.team_id,
        consent_id=consent_id,
        summary=data.summary,
        child_views=data.child_views,
        guardian_views=data.guardian_views,
        next_review_at=data.next_review_at,
        status=ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    try:
        await session.flush()
    except IntegrityError:  # the one-active-plan-per-child-and-agency index
        raise PlanAlreadyActive("The child already has an active plan that your agency can see.") from None
    await _publish(session, EventType.plan_created, plan, caller)
    return plan


async def _require_team(session: AsyncSession, caller: Caller, child_id: uuid.UUID, team_id: uuid.UUID) -> None:
    """The plan's team: an open team of the same child that the caller may see. A team it may not
    see is answered as one that does not exist."""
    teams = table_for("team")
    team = (
        await session.execute(
            select(teams.c.child_id, teams.c.status).where(teams.c.id == team_id, caller_rule("team")),
            caller_parameters(caller.agency_id),
        )
    ).first()
    if team is None:
        raise unprocessable(["body", "team_id"], "there is no such team")
    if team.child_id != child_id:
        raise unprocessable(["body", "team_id"], "the team is another child's")
    if team.status != OPEN:
        raise unprocessable(["body", "team_id"], "the team is closed")


def _confirmed_by_kind(kind: AgencyKind) -> Any:
    return exists(
        select(1)
        .select_from(_confirmations.join(_agencies, _agencies.c.id == _confirmations.c.agency_id))
        .where(_confirmations.c.consent_id == _consents.c.id, _agencies.c.kind == kind.value)
    )


async def _sip_consent(session: AsyncSession, caller: Caller, child_id: uuid.UUID) -> uuid.UUID:
    """A SIP needs the individual's consent (SoL 2 kap 7 §, HSL 16 kap 4 §): an active consent for
    the child covering plans that the caller's agency, a social-services agency and a health-care
    agency have each confirmed (a confirmation exists only for a named party)."""
    caller_confirmed = exists().where(
        _confirmations.c.consent_id == _consents.c.id, _confirmations.c.agency_id == caller.agency_id
    )
    statement = (
        select(_consents.c.id)
        .where(
            _consents.c.child_id == child_id,
            _consents.c.covers_plans.is_(True),
            consent_is_active(utcnow()),
            caller_confirmed,
            _confirmed_by_kind(AgencyKind.social_services),
            _confirmed_by_kind(AgencyKind.health_care),
        )
        .order_by(_consents.c.created_at, _consents.c.id)
        .limit(1)
    )
    consent_id = (await session.execute(statement)).scalar()
    if consent_id is None:
        raise SipConsentMissing(
            ["body", "kind"],
            "a sip needs an active consent for the child that covers plans, names your agency, a social_services "
            "and a health_care agency, and is confirmed by each of them",
        )
    return uuid.UUID(str(consent_id))


# -- who writes ---------------------------------------------------------------------------------


async def ensure_may_write(session: AsyncSession, caller: Caller, plan: Plan) -> None:
    """The plan's agency, or the agency of an active member of the plan's team (403 otherwise)."""
    if caller.agency_id == plan.agency_id:
        return
    if plan.team_id is not None:
        member = select(_members.c.id).where(
            _members.c.team_id == plan.team_id,
            _members.c.agency_id == caller.agency_id,
            _members.c.ended_at.is_(None),
        )
        if (await session.execute(member.limit(1))).first() is not None:
            return
    raise NotAPlanWriter("Only the plan's agency and the agencies of active members of its team may write in it.")


def _ensure_active(plan: Plan) -> None:
    if plan.status != ACTIVE:
        raise PlanClosed("The plan is closed: it takes no goals, actions, status changes or reviews.")


# -- appending ----------------------------------------------------------------------------------


async def add_goal(session: AsyncSession, caller: Caller, plan: Plan, data: GoalCreate) -> PlanGoal:
    await ensure_may_write(session, caller, plan)
    _ensure_active(plan)
    now = utcnow()
    goal = PlanGoal(
        plan_id=plan.id,
        area=data.area.value,
        text=data.text,
        expressed_by=data.expressed_by.value,
        target_date=data.target_date,
        agency_id=caller.agency_id,
        created_at=now,
    )
    session.add(goal)
    plan.updated_at = now
    await session.flush()
    await _publish(session, EventType.plan_goal_added, plan, caller)
    return goal


async def _goal_ids(session: AsyncSession, plan_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.execute(select(_goals.c.id).where(_goals.c.plan_id == plan_id))
    return {uuid.UUID(str(goal_id)) for goal_id in rows.scalars()}


async def add_action(session: AsyncSession, caller: Caller, plan: Plan, data: ActionCreate) -> PlanAction:
    await ensure_may_write(session, caller, plan)
    _ensure_active(plan)
    if data.goal_id is not None and data.goal_id not in await _goal_ids(session, plan.id):
        raise GoalNotInPlan(["body", "goal_id"], "not a goal of this plan")
    responsible = data.responsible_agency_id
    if await session.get(Agency, responsible) is None:
        raise unprocessable(["body", "responsible_agency_id"], f"there is no agency {responsible!r}")
    now = utcnow()
    if responsible != plan.agency_id:
        # The responsible agency must be able to see the plan it answers for: the same consent as
        # the access rule asks — active, naming both, covering plans, confirmed by the plan's agency.
        linked = consent_links(plan.child_id, responsible, plan.agency_id, RecordType.plans, now)
        if not (await session.execute(select(linked))).scalar():
            raise ResponsibleAgencyNotLinked(
                ["body", "responsible_agency_id"],
                "must be the plan's agency or one named with it in an active consent for the child that covers "
                "plans and is confirmed by the plan's agency",
            )
    action = PlanAction(
        plan_id=plan.id,
        goal_id=data.goal_id,
        text=data.text,
        responsible_agency_id=responsible,
        due_date=data.due_date,
        status=ActionStatus.planned.value,
        status_history=[_history_item(ActionStatus.planned, None, None, caller, now)],
        agency_id=caller.agency_id,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    plan.updated_at = now
    await session.flush()
    await _publish(session, EventType.plan_action_added, plan, caller)
    return action


def _history_item(
    status: ActionStatus, previous: str | None, note: str | None, caller: Caller, at: datetime
) -> dict[str, object]:
    # The agency, never the client (as in a concern's history).
    return {
        "status": status.value,
        "from_status": previous,
        "note": note,
        "changed_at": at.isoformat(),
        "agency_id": caller.agency_id,
    }


async def find_action(session: AsyncSession, plan: Plan | Row[Any], action_id: uuid.UUID) -> PlanAction:
    action = await session.get(PlanAction, action_id)
    if action is None or action.plan_id != plan.id:
        raise NotFound("There is no such action in this plan.")
    return action


def ensure_may_change_action(caller: Caller, plan: Plan, action: PlanAction) -> None:
    """The plan's agency and the action's responsible agency (others that see the plan: 403)."""
    if caller.agency_id not in (plan.agency_id, action.responsible_agency_id):
        raise NotAPlanWriter("Only the plan's agency and the action's responsible agency may change its status.")


async def change_action_status(
    session: AsyncSession, caller: Caller, plan: Plan, action: PlanAction, change: ActionStatusChange
) -> None:
    ensure_may_change_action(caller, plan, action)
    _ensure_active(plan)
    current = ActionStatus(action.status)
    if change.status not in ACTION_TRANSITIONS[current]:
        allowed = ", ".join(sorted(ACTION_TRANSITIONS[current])) or "none (final)"
        raise ActionTransitionNotAllowed(
            f"A {current.value} action cannot become {change.status.value}; allowed: {allowed}."
        )
    now = utcnow()
    action.status = change.status.value
    action.status_history = [
        *action.status_history,
        _history_item(change.status, current.value, change.note, caller, now),
    ]
    action.updated_at = now
    plan.updated_at = now
    await session.flush()
    await _publish(session, EventType.plan_action_status_changed, plan, caller)


async def add_review(session: AsyncSession, caller: Caller, plan: Plan, data: ReviewCreate) -> PlanReview:
    """A review records progress per goal and moves the plan's next review. When the plan's review
    date has passed, the review must set the next one: so `plan.review_due` means exactly "the
    date passed and nobody reviewed"."""
    await ensure_may_write(session, caller, plan)
    _ensure_active(plan)
    now = utcnow()
    if data.held_at > now + CLOCK_SKEW:
        raise unprocessable(["body", "held_at"], "lies in the future")
    if data.held_at < plan.created_at - CLOCK_SKEW:
        raise unprocessable(["body", "held_at"], "lies before the plan was made")
    goals = await _goal_ids(session, plan.id)
    for index, item in enumerate(data.progress):
        if item.goal_id not in goals:
            raise GoalNotInPlan(["body", "progress", index, "goal_id"], "not a goal of this plan")
    if data.next_review_at is not None and data.next_review_at <= now:
        raise unprocessable(["body", "next_review_at"], "must lie in the future")
    if data.next_review_at is None and plan.next_review_at <= now:
        raise unprocessable(["body", "next_review_at"], "the plan's review date has passed: give the next one")
    review = PlanReview(
        plan_id=plan.id,
        held_at=data.held_at,
        was_due_at=plan.next_review_at,
        next_review_at=data.next_review_at,
        progress=[item.model_dump(mode="json") for item in data.progress],
        child_views=data.child_views,
        guardian_views=data.guardian_views,
        agency_id=caller.agency_id,
        created_at=now,
    )
    session.add(review)
    if data.next_review_at is not None:
        plan.next_review_at = data.next_review_at
    plan.updated_at = now
    await session.flush()
    await _publish(session, EventType.plan_reviewed, plan, caller)
    return review


async def close_plan(session: AsyncSession, caller: Caller, plan: Plan, data: PlanClose) -> None:
    await ensure_may_write(session, caller, plan)
    _ensure_active(plan)
    now = utcnow()
    plan.status = CLOSED
    plan.closed_at = now
    plan.closed_reason = data.reason
    plan.closed_by_agency_id = caller.agency_id
    plan.updated_at = now
    await session.flush()
    await _publish(session, EventType.plan_closed, plan, caller)


async def _publish(session: AsyncSession, event_type: EventType, plan: Plan, caller: Caller | None) -> None:
    """Thin events about the plan (record type `plan`), to the agencies that may see it now."""
    await publish(
        session,
        event_type,
        resource_type="plan",
        record_id=plan.id,
        child_id=plan.child_id,
        actor_agency_id=None if caller is None else caller.agency_id,
    )


# -- reading ------------------------------------------------------------------------------------


async def find_part(
    session: AsyncSession, model: type[PlanGoal] | type[PlanReview], plan: Plan | Row[Any], part_id: uuid.UUID
) -> Row[Any]:
    """A goal or review of a plan the caller may see (the plan was loaded through the rule)."""
    table = table_of(model)
    row = (await session.execute(select(table).where(table.c.id == part_id, table.c.plan_id == plan.id))).first()
    if row is None:
        raise NotFound("There is no such part of this plan.")
    return row


async def views_of(session: AsyncSession, caller: Caller, plans: Sequence[Plan | Row[Any]]) -> list[PlanView]:
    """Plans with their goals, actions and reviews (oldest first), and the children's compasses:
    four queries for any number of plans."""
    if not plans:
        return []
    ids = [plan.id for plan in plans]
    # Core statements on the session's connection: plain rows, without the ORM's execution path
    # (which costs more than these short reads).
    connection = await session.connection()
    parts: dict[str, defaultdict[uuid.UUID, list[Row[Any]]]] = {}
    for name, table in (("goals", _goals), ("actions", _actions), ("reviews", _reviews)):
        rows = await connection.execute(
            select(table).where(table.c.plan_id.in_(ids)).order_by(table.c.created_at, table.c.id)
        )
        grouped: defaultdict[uuid.UUID, list[Row[Any]]] = defaultdict(list)
        for row in rows:
            grouped[row.plan_id].append(row)
        parts[name] = grouped
    compasses = await _compasses(connection, caller, {plan.child_id for plan in plans})
    return [
        PlanView(
            plan,
            parts["goals"][plan.id],
            parts["actions"][plan.id],
            parts["reviews"][plan.id],
            None if compasses is None else compasses.get(plan.child_id, {}),
        )
        for plan in plans
    ]


async def _compasses(
    connection: AsyncConnection, caller: Caller, child_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Compass] | None:
    """Each child's compass from the assessments the caller may see — none at all for a caller
    whose role does not read assessments (minimum necessary: police systems)."""
    if "assessments:read" not in caller.scopes:
        return None
    rows = await connection.execute(
        select(_assessments)
        .where(_assessments.c.child_id.in_(child_ids), caller_rule("assessment"))
        .order_by(_assessments.c.assessed_at, _assessments.c.created_at, _assessments.c.id),
        caller_parameters(caller.agency_id),
    )
    by_child: defaultdict[uuid.UUID, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        by_child[row.child_id].append(row)
    return {child_id: compass_from(assessments) for child_id, assessments in by_child.items()}


async def list_plans(
    session: AsyncSession,
    caller: Caller,
    child_id: uuid.UUID | None,
    status: PlanStatus | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    conditions = []
    if child_id is not None:
        conditions.append(_plans.c.child_id == child_id)
    if status is not None:
        conditions.append(_plans.c.status == status.value)
    return await visible_page(session, caller, "plan", after, limit, *conditions)


# -- reading goals on their own (the FHIR view's Goal) -------------------------------------------


async def plan_id_of_goal(session: AsyncSession, goal_id: uuid.UUID) -> uuid.UUID | None:
    """Which plan a goal belongs to — only to load that plan through the rule (`fetch_visible`);
    the answer is never shown by itself."""
    plan_id = (await session.execute(select(_goals.c.plan_id).where(_goals.c.id == goal_id))).scalar()
    return None if plan_id is None else uuid.UUID(str(plan_id))


async def list_goals(
    session: AsyncSession,
    caller: Caller,
    child_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """The goals of the plans the caller may see, oldest first (`created_at`, then `id`), each
    with its plan's `child_id`: the plans' access rule runs in the query, as for `list_plans`."""
    statement = (
        select(_goals, _plans.c.child_id)
        .join(_plans, _plans.c.id == _goals.c.plan_id)
        .where(caller_rule("plan"))
        .order_by(_goals.c.created_at, _goals.c.id)
        .limit(limit)
    )
    if child_id is not None:
        statement = statement.where(_plans.c.child_id == child_id)
    if after is not None:
        statement = statement.where(tuple_(_goals.c.created_at, _goals.c.id) > tuple_(*after))
    return (await session.execute(statement, caller_parameters(caller.agency_id))).all()


async def visible_plans(session: AsyncSession, caller: Caller, plan_ids: set[uuid.UUID]) -> Sequence[Row[Any]]:
    """The plans of these ids that the caller may see (through the rule, as every list)."""
    if not plan_ids:
        return []
    return await visible_page(session, caller, "plan", None, len(plan_ids), _plans.c.id.in_(plan_ids))
