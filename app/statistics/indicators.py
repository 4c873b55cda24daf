"""The indicators: one registry entry each, with the SQL that counts it per month.

Every query runs over all agencies (no access rule: only counts leave this module) and returns,
per month, the counts per (agency kind, municipality) of the agency the fact belongs to — the
atoms that `disclosure` protects — or, for a median, the values (days) per atom. No id is ever
selected. Months are given as [start, end) instants in UTC.

Adding an indicator is one `Indicator(...)` in INDICATORS with its query (and, when a month's
figure can still change after the month has ended, its `final` check).

When a month is final: concerns, teams and plans carry the server's own timestamps, and a stock
at an instant that has passed stays as it was, so their figures are fixed once the month has
ended. Reviews are counted by when they were recorded (`created_at`), not by `held_at`, which the
reviewer may set back. Concern decisions are different: a decision may come up to 14 days after
the report (and later still, when it is late), and `decided_at` may be set back to any moment
since the report was received. So a month's decision figures wait, per month, until they can no
longer change — see `decisions_settled` and `all_decided` — and are `unavailable` until then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models.agency import Agency
from app.models.base import table_of
from app.models.concern import Concern
from app.models.plan import Plan, PlanReview
from app.models.team import Team
from app.statistics.disclosure import Atom
from app.statistics.release import Kind

Bounds = Sequence[tuple[datetime, datetime]]
Counts = list[dict[Atom, int]]  # per month
Values = list[dict[Atom, list[int]]]  # per month
SECONDS_PER_DAY = 86_400

_concerns, _agencies, _teams = table_of(Concern), table_of(Agency), table_of(Team)
_plans, _reviews = table_of(Plan), table_of(PlanReview)
Finality = list[str | None]  # per month: None when final, else why not yet


@dataclass(frozen=True)
class Indicator:
    name: str
    kind: Kind
    description: str
    # counts (flow, stock) or values (median) per month
    query: Callable[[AsyncConnection, Bounds], Awaitable[Counts | Values]]
    # For figures that may still change after the month has ended: per month, None once they
    # cannot change any more, else the reason they are not published yet. None: final at month end.
    final: Callable[[AsyncConnection, Bounds], Awaitable[Finality]] | None = None


def _bucket(column: Any, bounds: Bounds) -> ColumnElement[Any]:
    """The month (0, 1, …) an instant falls in; the caller filters to [first start, last end)."""
    return case(*((column < end, index) for index, (_start, end) in enumerate(bounds)))


async def _counts_per_month(connection: AsyncConnection, inner: Select[Any], months: int) -> Counts:
    # Grouped over a subquery: grouping by the CASE itself would repeat its bound parameters,
    # which PostgreSQL does not recognise as the same expression.
    sub = inner.subquery()
    rows = await connection.execute(
        select(sub.c.bucket, sub.c.kind, sub.c.municipality, func.count()).group_by(
            sub.c.bucket, sub.c.kind, sub.c.municipality
        )
    )
    result: Counts = [{} for _ in range(months)]
    for bucket, kind, municipality, count in rows:
        result[bucket][(kind, municipality)] = count
    return result


def _concerns_raised(bounds: Bounds) -> Select[Any]:
    return (
        select(
            _bucket(_concerns.c.created_at, bounds).label("bucket"),
            _agencies.c.kind,
            _agencies.c.municipality,
        )
        .select_from(_concerns.join(_agencies, _agencies.c.id == _concerns.c.agency_id))
        .where(_concerns.c.created_at >= bounds[0][0], _concerns.c.created_at < bounds[-1][1])
    )


async def concerns(connection: AsyncConnection, bounds: Bounds) -> Counts:
    """Concerns raised in the month, by the raising agency."""
    return await _counts_per_month(connection, _concerns_raised(bounds), len(bounds))


async def mandatory_reports(connection: AsyncConnection, bounds: Bounds) -> Counts:
    """Concerns raised in the month as a mandatory report to social services, by the reporter."""
    inner = _concerns_raised(bounds).where(_concerns.c.report_to_agency_id.is_not(None))
    return await _counts_per_month(connection, inner, len(bounds))


def _first_per_child(table: Any, *conditions: ColumnElement[bool]) -> Any:
    """Among teams (or plans) meeting the conditions, each child's earliest (a child counts once)."""
    rank = func.row_number().over(partition_by=table.c.child_id, order_by=(table.c.created_at, table.c.id))
    return (
        select(table.c.child_id, table.c.agency_id, table.c.created_at, rank.label("rank"))
        .where(*conditions)
        .subquery()
    )


def _first_team_per_child(*conditions: ColumnElement[bool]) -> Any:
    return _first_per_child(_teams, *conditions)


async def _children_open_at_end(connection: AsyncConnection, bounds: Bounds, table: Any) -> Counts:
    """Children with a team (or plan) open at the end of each month, by the agency of their
    earliest open one."""
    result: Counts = []
    for _start, end in bounds:
        first = _first_per_child(
            table, table.c.created_at < end, or_(table.c.closed_at.is_(None), table.c.closed_at >= end)
        )
        rows = await connection.execute(
            select(_agencies.c.kind, _agencies.c.municipality, func.count())
            .select_from(first.join(_agencies, _agencies.c.id == first.c.agency_id))
            .where(first.c.rank == 1)
            .group_by(_agencies.c.kind, _agencies.c.municipality)
        )
        result.append({(kind, municipality): count for kind, municipality, count in rows})
    return result


async def children_with_open_team(connection: AsyncConnection, bounds: Bounds) -> Counts:
    """Children with an open team at the end of the month, by the agency of their earliest open
    team. A stock at a fixed instant: once the month has ended it never changes."""
    return await _children_open_at_end(connection, bounds, _teams)


async def children_with_active_plan(connection: AsyncConnection, bounds: Bounds) -> Counts:
    """Children with an active plan (child's plan or SIP) at the end of the month, by the agency
    of their earliest active plan. A plan is closed at the server's time, so, as for teams, the
    figure never changes once the month has ended."""
    return await _children_open_at_end(connection, bounds, _plans)


async def reviews_on_time(connection: AsyncConnection, bounds: Bounds) -> Counts:
    """Plan reviews recorded in the month that were held by the plan's review date at the time
    (`held_at <= was_due_at`), by the plan's agency. Counted by when they were recorded, which
    the server stamps, so that a review entered later with an earlier `held_at` does not change
    a month already published."""
    inner = (
        select(_bucket(_reviews.c.created_at, bounds).label("bucket"), _agencies.c.kind, _agencies.c.municipality)
        .select_from(
            _reviews.join(_plans, _plans.c.id == _reviews.c.plan_id).join(
                _agencies, _agencies.c.id == _plans.c.agency_id
            )
        )
        .where(
            _reviews.c.created_at >= bounds[0][0],
            _reviews.c.created_at < bounds[-1][1],
            _reviews.c.held_at <= _reviews.c.was_due_at,
        )
    )
    return await _counts_per_month(connection, inner, len(bounds))


# -- concern decisions (återkoppling): counted per month of the report, by the deciding agency ---
def _reports_received(bounds: Bounds, *columns: Any) -> Select[Any]:
    """The mandatory reports received in the months, joined to the reported-to agency."""
    return (
        select(_bucket(_concerns.c.created_at, bounds).label("bucket"), *columns)
        .select_from(_concerns.join(_agencies, _agencies.c.id == _concerns.c.report_to_agency_id))
        .where(
            _concerns.c.report_to_agency_id.is_not(None),
            _concerns.c.created_at >= bounds[0][0],
            _concerns.c.created_at < bounds[-1][1],
        )
    )


# A decided report is final (a decision is recorded once, its date with it). An undecided report
# whose deadline passed was marked overdue by the worker (`decision_overdue_at`) and is never
# counted as decided within 14 days, whatever date a late decision is later given.
_WITHIN_14_DAYS = and_(
    _concerns.c.decision.is_not(None),
    _concerns.c.decided_at <= _concerns.c.decision_due_at,
    _concerns.c.decision_overdue_at.is_(None),
)


async def decided_within_14_days(connection: AsyncConnection, bounds: Bounds) -> Counts:
    """Mandatory reports received in the month that got their decision within 14 days, recorded
    before their deadline was marked passed, by the reported-to agency."""
    inner = _reports_received(bounds, _agencies.c.kind, _agencies.c.municipality).where(_WITHIN_14_DAYS)
    return await _counts_per_month(connection, inner, len(bounds))


async def days_to_decision(connection: AsyncConnection, bounds: Bounds) -> Values:
    """Whole days from receipt to decision of the mandatory reports received in the month, by the
    reported-to agency."""
    rows = await connection.execute(
        _reports_received(
            bounds, _agencies.c.kind, _agencies.c.municipality, _concerns.c.created_at, _concerns.c.decided_at
        ).where(_concerns.c.decision.is_not(None))
    )
    result: Values = [{} for _ in bounds]
    for bucket, kind, municipality, received_at, decided_at in rows:
        days = int((decided_at - received_at).total_seconds() // SECONDS_PER_DAY)
        result[bucket].setdefault((kind, municipality), []).append(max(days, 0))
    return result


async def _months_with(connection: AsyncConnection, bounds: Bounds, open_: ColumnElement[bool]) -> set[int]:
    rows = await connection.execute(_reports_received(bounds).where(open_).distinct())
    return {bucket for (bucket,) in rows}


SETTLING = (
    "Not final yet: some mandatory reports received in the month have neither a decision nor a "
    "deadline marked passed (a decision may come up to 14 days after the report, and its date may be "
    "set back), so the month's figure could still change."
)
DECIDING = (
    "Not final yet: some mandatory reports received in the month have no decision yet, and a "
    "decision may come late and be dated back to any day since the report, so the month's median "
    "could still change."
)


async def decisions_settled(connection: AsyncConnection, bounds: Bounds) -> Finality:
    """A month's `decided_within_14_days` is final once each of its reports is decided or marked
    overdue: neither can change any more."""
    waiting = await _months_with(
        connection, bounds, and_(_concerns.c.decision.is_(None), _concerns.c.decision_overdue_at.is_(None))
    )
    return [SETTLING if index in waiting else None for index in range(len(bounds))]


async def all_decided(connection: AsyncConnection, bounds: Bounds) -> Finality:
    """A month's median days to decision is final once every one of its reports is decided."""
    waiting = await _months_with(connection, bounds, _concerns.c.decision.is_(None))
    return [DECIDING if index in waiting else None for index in range(len(bounds))]


async def days_concern_to_team(connection: AsyncConnection, bounds: Bounds) -> Values:
    """For each child whose first team was created in the month: whole days from the child's
    first concern (by any agency) to that team, by the team's agency. Children whose team came
    without a concern before it are not counted."""
    teams = _first_team_per_child()
    first_concern = (
        select(func.min(_concerns.c.created_at))
        .where(_concerns.c.child_id == teams.c.child_id, _concerns.c.created_at <= teams.c.created_at)
        .scalar_subquery()
    )
    rows = await connection.execute(
        select(
            _bucket(teams.c.created_at, bounds),
            _agencies.c.kind,
            _agencies.c.municipality,
            teams.c.created_at,
            first_concern,
        )
        .select_from(teams.join(_agencies, _agencies.c.id == teams.c.agency_id))
        .where(teams.c.rank == 1, teams.c.created_at >= bounds[0][0], teams.c.created_at < bounds[-1][1])
    )
    result: Values = [{} for _ in bounds]
    for bucket, kind, municipality, team_at, concern_at in rows:
        if concern_at is not None:
            days = int((team_at - concern_at).total_seconds() // SECONDS_PER_DAY)
            result[bucket].setdefault((kind, municipality), []).append(days)
    return result


INDICATORS: tuple[Indicator, ...] = (
    Indicator("concerns", Kind.flow, "Concerns raised in the period.", concerns),
    Indicator("mandatory_reports", Kind.flow, "Mandatory reports to social services in the period.", mandatory_reports),
    Indicator(
        "children_with_open_team",
        Kind.stock,
        "Children with an open team at the end of the period.",
        children_with_open_team,
    ),
    Indicator(
        "median_days_concern_to_team",
        Kind.median,
        "Median whole days from a child's first concern to the child's first team, over the children "
        "whose first team was created in the period.",
        days_concern_to_team,
    ),
    Indicator(
        "decided_within_14_days",
        Kind.flow,
        "Mandatory reports received in the period that got their decision within 14 days.",
        decided_within_14_days,
        decisions_settled,
    ),
    Indicator(
        "median_days_to_decision",
        Kind.median,
        "Median whole days from receipt to decision of the mandatory reports received in the period.",
        days_to_decision,
        all_decided,
    ),
    Indicator(
        "children_with_active_plan",
        Kind.stock,
        "Children with an active plan at the end of the period.",
        children_with_active_plan,
    ),
    Indicator(
        "reviews_on_time",
        Kind.flow,
        "Plan reviews recorded in the period that were held by their review date.",
        reviews_on_time,
    ),
)

# Contract fields whose data is not in this service yet: always null, and listed in the answer's
# `unavailable` with the reason, so that an integrator never mistakes them for suppressed cells.
# (None since concern decisions, issue 19, and plans and their reviews, issue 20, are counted.
# A month whose figures are not final yet is listed there too: see `Indicator.final`.)
PENDING: dict[str, str] = {}
