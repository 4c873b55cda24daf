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
