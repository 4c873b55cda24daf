"""Every closed set of the domain in one place: areas, statuses, roles, agency kinds, record and
event types, log outcomes (domain.md). Imports nothing of the app, so anything may import it."""

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


class AgencyKind(StrEnum):
    preschool = "preschool"
    school = "school"
    social_services = "social_services"
    health_care = "health_care"
    police = "police"


class Role(StrEnum):
    practitioner = "practitioner"
    auditor = "auditor"
    admin = "admin"
    analyst = "analyst"


class RecordType(StrEnum):
    concerns = "concerns"
    assessments = "assessments"
    teams = "teams"
    plans = "plans"  # the child's plan (issue 20)
    signals = "signals"  # counts and areas only, for early-warning signals (issue 21)


class EventType(StrEnum):
    concern_received = "concern.received"
    concern_status_changed = "concern.status_changed"
    consent_recorded = "consent.recorded"
    consent_confirmed = "consent.confirmed"
    consent_withdrawn = "consent.withdrawn"
    consent_expired = "consent.expired"
    concern_decision_recorded = "concern.decision_recorded"
    concern_decision_overdue = "concern.decision_overdue"
    assessment_recorded = "assessment.recorded"
    team_created = "team.created"
    team_member_added = "team.member_added"
    team_member_ended = "team.member_ended"
    team_closed = "team.closed"
    plan_created = "plan.created"
    plan_goal_added = "plan.goal_added"
    plan_action_added = "plan.action_added"
    plan_action_status_changed = "plan.action_status_changed"
    plan_reviewed = "plan.reviewed"
    plan_closed = "plan.closed"
    plan_review_due = "plan.review_due"
    signal_raised = "signal.raised"
    client_created = "client.created"
    client_revoked = "client.revoked"
    # Retention (gallring): the record is gone; ids only, like every event.
    record_purged = "record.purged"


class Outcome(StrEnum):
    allowed = "allowed"
    denied = "denied"
    error = "error"


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


class AccessBasis(StrEnum):
    """Which clause of the rule let the caller see a record (the log's `access_basis`)."""

    own = "own"  # its agency created it
    named = "named"  # a consent that names its agency
    reported_to = "reported_to"  # a mandatory report to its agency
    consent = "consent"  # an active consent, confirmed by the record's agency
    team = "team"  # such a consent, and its agency is an active member of the team
