"""Which records are past retention (gallring): one SQL condition per record type.

A record's age is counted from when it was closed, where it has an end, else from its creation:

| type       | closed when                                         | age counted from             |
|------------|-----------------------------------------------------|------------------------------|
| concern    | `completed`, `cancelled` or `rejected`              | `updated_at` (its last change) |
| consent    | withdrawn, or its window has ended (expired)        | the first of `withdrawn_at`, `valid_until` |
| assessment | never open: a finished record when recorded         | `created_at`                 |
| team       | `closed`                                            | `closed_at`                  |
| plan       | `closed`                                            | `closed_at`                  |
| child      | when no record about the child is left              | `created_at` (registration)  |

An open record (a concern in progress, an active or pending consent, an open team or plan) is
never due, whatever its age. A record that another kept record still points at stays too: a team
or consent named by a plan goes only with (or after) that plan, and a child only when every
record about it is itself due. Because these conditions read each other, `plan` counts exactly
what `purge` removes at the same `now`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Table, and_, exists, false, or_, select

from app.enums import ConcernStatus
from app.models.assessment import Assessment
from app.models.base import table_of
from app.models.child import Child
from app.models.concern import Concern
from app.models.consent import Consent, ConsentWithdrawal
from app.models.plan import CLOSED as PLAN_CLOSED
from app.models.plan import Plan
from app.models.team import CLOSED as TEAM_CLOSED
from app.models.team import Team
from app.settings import Settings

# Purge order: what points at a record goes before it (plans name teams and consents; every
# record names its child).
RECORD_TYPES = ("plan", "team", "concern", "consent", "assessment", "child")
CLOSED_CONCERN = (ConcernStatus.completed.value, ConcernStatus.cancelled.value, ConcernStatus.rejected.value)

concerns = table_of(Concern)
consents = table_of(Consent)
withdrawals = table_of(ConsentWithdrawal)
assessments = table_of(Assessment)
teams = table_of(Team)
plans = table_of(Plan)
children = table_of(Child)

TABLES: dict[str, Table] = {
    "plan": plans,
    "team": teams,
    "concern": concerns,
    "consent": consents,
    "assessment": assessments,
    "child": children,
}


def _closed_plan(table: FromClause, cutoff: datetime) -> ColumnElement[bool]:
    return and_(table.c.status == PLAN_CLOSED, table.c.closed_at < cutoff)


def retention_days(settings: Settings, record_type: str) -> int | None:
    days: int | None = getattr(settings, f"retention_{record_type}_days")
    return days


class Rules:
    """The conditions "past retention at `now`" under one set of settings."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.settings = settings
        self.now = now

    def _cutoff(self, record_type: str) -> datetime | None:
        days = retention_days(self.settings, record_type)
        return None if days is None else self.now - timedelta(days=days)

    def due(self, record_type: str) -> ColumnElement[bool]:
        """The condition on `TABLES[record_type]` (the table itself, not an alias)."""
        cutoff = self._cutoff(record_type)
        if cutoff is None:
            return false()  # the default: keep everything
        rules: dict[str, Callable[[datetime], ColumnElement[bool]]] = {
            "plan": self._plan,
            "team": self._team,
            "concern": self._concern,
            "consent": self._consent,
            "assessment": self._assessment,
            "child": self._child,
        }
        return rules[record_type](cutoff)

    def _plan(self, cutoff: datetime) -> ColumnElement[bool]:
        return _closed_plan(plans, cutoff)

    def _kept_plan_names(self, column: str, record_id: ColumnElement[Any]) -> ColumnElement[bool]:
        """Some plan that stays names this record (as its team or its consent)."""
        kept = plans.alias("kept_plans")
        cutoff = self._cutoff("plan")
        plan_due = false() if cutoff is None else _closed_plan(kept, cutoff)
        return exists().where(kept.c[column] == record_id, ~plan_due)

    def _team(self, cutoff: datetime) -> ColumnElement[bool]:
        return and_(
            teams.c.status == TEAM_CLOSED,
            teams.c.closed_at < cutoff,
            ~self._kept_plan_names("team_id", teams.c.id),
        )

    def _concern(self, cutoff: datetime) -> ColumnElement[bool]:
        return and_(concerns.c.status.in_(CLOSED_CONCERN), concerns.c.updated_at < cutoff)

    def _consent(self, cutoff: datetime) -> ColumnElement[bool]:
        withdrawn_before = exists().where(
            withdrawals.c.consent_id == consents.c.id, withdrawals.c.withdrawn_at < cutoff
        )
        # valid_until < cutoff <= now: the window has ended, so the consent is expired (or was
        # withdrawn even earlier). A pending or active one is never due.
        return and_(
            or_(withdrawn_before, consents.c.valid_until < cutoff),
            ~self._kept_plan_names("consent_id", consents.c.id),
        )

    def _assessment(self, cutoff: datetime) -> ColumnElement[bool]:
        return assessments.c.created_at < cutoff

    def _child(self, cutoff: datetime) -> ColumnElement[bool]:
        """Registered before the cutoff, and every record about the child is itself due."""
        conditions: list[ColumnElement[bool]] = [children.c.created_at < cutoff]
        for record_type in RECORD_TYPES[:-1]:
            table = TABLES[record_type]
            kept = select(table.c.id).where(table.c.child_id == children.c.id, ~self.due(record_type))
            conditions.append(~kept.exists())
        return and_(*conditions)
