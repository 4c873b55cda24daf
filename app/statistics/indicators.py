"""The indicators: one registry entry each, with the SQL that counts it per month.

Every query runs over all agencies (no access rule: only counts leave this module) and returns,
per month, the counts per (agency kind, municipality) of the agency the fact belongs to — the
atoms that `disclosure` protects — or, for a median, the values (days) per atom. No id is ever
selected. Months are given as [start, end) instants in UTC.

Adding an indicator (the concern decision of issue 19, plans and reviews of issue 20) is one
`Indicator(...)` in INDICATORS with its query, and moving its name out of PENDING.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models.agency import Agency
from app.models.base import table_of
from app.models.concern import Concern
from app.models.team import Team
from app.statistics.disclosure import Atom
from app.statistics.release import Kind

Bounds = Sequence[tuple[datetime, datetime]]
Counts = list[dict[Atom, int]]  # per month
Values = list[dict[Atom, list[int]]]  # per month
SECONDS_PER_DAY = 86_400

_concerns, _agencies, _teams = table_of(Concern), table_of(Agency), table_of(Team)


@dataclass(frozen=True)
class Indicator:
    name: str
    kind: Kind
    description: str
    # counts (flow, stock) or values (median) per month
    query: Callable[[AsyncConnection, Bounds], Awaitable[Counts | Values]]


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


def _first_team_per_child(*conditions: ColumnElement[bool]) -> Any:
    """Among teams meeting the conditions, each child's earliest (so a child counts once)."""
    rank = func.row_number().over(partition_by=_teams.c.child_id, order_by=(_teams.c.created_at, _teams.c.id))
    return (
        select(_teams.c.child_id, _teams.c.agency_id, _teams.c.created_at, rank.label("rank"))
        .where(*conditions)
        .subquery()
    )


async def children_with_open_team(connection: AsyncConnection, bounds: Bounds) -> Counts:
    """Children with an open team at the end of the month, by the agency of their earliest open
    team. A stock at a fixed instant: once the month has ended it never changes."""
    result: Counts = []
    for _start, end in bounds:
        teams = _first_team_per_child(
            _teams.c.created_at < end, or_(_teams.c.closed_at.is_(None), _teams.c.closed_at >= end)
        )
        rows = await connection.execute(
            select(_agencies.c.kind, _agencies.c.municipality, func.count())
            .select_from(teams.join(_agencies, _agencies.c.id == teams.c.agency_id))
            .where(teams.c.rank == 1)
            .group_by(_agencies.c.kind, _agencies.c.municipality)
        )
        result.append({(kind, municipality): count for kind, municipality, count in rows})
    return result


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
)

# Contract fields whose data is not in this service yet: always null, and listed in the answer's
# `unavailable` with the reason, so that an integrator never mistakes them for suppressed cells.
# (Concern decisions arrive with issue 19, plans and their reviews with issue 20.)
PENDING: dict[str, str] = {
    "decided_within_14_days": "Concern decisions (feedback to the reporter) are not recorded yet.",
    "median_days_to_decision": "Concern decisions (feedback to the reporter) are not recorded yet.",
    "children_with_active_plan": "Children's plans are not recorded yet.",
    "reviews_on_time": "Plan reviews are not recorded yet.",
}
