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


class Outcome(StrEnum):
    allowed = "allowed"
    denied = "denied"
    error = "error"
