"""The closed sets of the domain (domain.md): wellbeing areas, statuses, roles."""

from __future__ import annotations

from enum import StrEnum


class Area(StrEnum):
    """The eight areas of the needs compass (GIRFEC SHANARRI)."""

    safe = "safe"
    healthy = "healthy"
    achieving = "achieving"
    nurtured = "nurtured"
    active = "active"
    respected = "respected"
    responsible = "responsible"
    included = "included"


class Urgency(StrEnum):
    routine = "routine"
    urgent = "urgent"
    immediate = "immediate"


class ConcernStatus(StrEnum):
    received = "received"
    accepted = "accepted"
    rejected = "rejected"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class Decision(StrEnum):
    """Social services' answer to a mandatory report: whether an investigation was opened."""

    investigation_opened = "investigation_opened"
    not_opened = "not_opened"
    already_ongoing = "already_ongoing"


CONCERN_TRANSITIONS: dict[ConcernStatus, frozenset[ConcernStatus]] = {
    ConcernStatus.received: frozenset({ConcernStatus.accepted, ConcernStatus.rejected, ConcernStatus.cancelled}),
    ConcernStatus.accepted: frozenset({ConcernStatus.in_progress, ConcernStatus.cancelled}),
    ConcernStatus.in_progress: frozenset({ConcernStatus.completed, ConcernStatus.cancelled}),
    ConcernStatus.rejected: frozenset(),
    ConcernStatus.completed: frozenset(),
    ConcernStatus.cancelled: frozenset(),
}


class GrantorRole(StrEnum):
    guardian = "guardian"
    child = "child"


class ConsentStatus(StrEnum):
    pending = "pending"
    active = "active"
    expired = "expired"
    withdrawn = "withdrawn"


class Perspective(StrEnum):
    child = "child"
    guardian = "guardian"
    professional = "professional"


class TeamRole(StrEnum):
    contact_person = "contact_person"
    coordinator = "coordinator"
    member = "member"


class TeamStatus(StrEnum):
    open = "open"
    closed = "closed"


class PlanKind(StrEnum):
    """A child's plan, or a SIP (samordnad individuell plan, SoL 2 kap 7 §, HSL 16 kap 4 §)."""

    child_plan = "child_plan"
    sip = "sip"


class PlanStatus(StrEnum):
    active = "active"
    closed = "closed"


class ActionStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


# Done and cancelled are final: a plan that needs the action again adds a new one (nothing is
# rewritten, so the history says what happened).
ACTION_TRANSITIONS: dict[ActionStatus, frozenset[ActionStatus]] = {
    ActionStatus.planned: frozenset({ActionStatus.in_progress, ActionStatus.done, ActionStatus.cancelled}),
    ActionStatus.in_progress: frozenset({ActionStatus.done, ActionStatus.cancelled}),
    ActionStatus.done: frozenset(),
    ActionStatus.cancelled: frozenset(),
}


class GoalProgress(StrEnum):
    achieved = "achieved"
    progressing = "progressing"
    not_progressing = "not_progressing"
    no_longer_relevant = "no_longer_relevant"
