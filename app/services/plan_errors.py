"""The child's plan's own problems: each condition its own class and problem type."""

from __future__ import annotations

from collections.abc import Sequence

from app.errors import Conflict, Forbidden, Unprocessable


class PlanAlreadyActive(Conflict):
    """The child already has an active plan among the agencies that can see each other's plans."""

    slug, title = "plan-already-active", "The child already has an active plan"


class PlanClosed(Conflict):
    """The plan is closed: it takes no goals, actions, status changes or reviews."""

    slug, title = "plan-closed", "The plan is closed"


class ActionTransitionNotAllowed(Conflict):
    """The action's status cannot move there (done and cancelled are final)."""

    slug, title = "action-transition-not-allowed", "The action cannot move to that status"


class NotAPlanWriter(Forbidden):
    slug, title = "not-a-plan-writer", "Your agency may not write in this plan"


class _FieldProblem(Unprocessable):
    """A 422 about one field, shaped like a body-validation error (`errors: [{loc, msg}]`)."""

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        super().__init__(msg, errors=[{"loc": list(loc), "msg": msg}])


class SipConsentMissing(_FieldProblem):
    slug, title = "sip-consent-missing", "A SIP needs a consent confirmed by social services and health care"


class ResponsibleAgencyNotLinked(_FieldProblem):
    slug, title = "responsible-agency-not-linked", "The responsible agency is not linked to the plan"


class GoalNotInPlan(_FieldProblem):
    slug, title = "goal-not-in-plan", "The goal is not one of this plan's"
