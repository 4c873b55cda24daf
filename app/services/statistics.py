"""Leaders' indicators over all agencies: the period, the month tables and their cache.

Only ended calendar months (in the configured time zone) are published. A month's facts are
then fixed — concerns and teams carry the server's own timestamps, and a team open at an instant
that has passed stays open at it — so each month's published table is computed once and kept
for the life of the process: no invalidation is needed, and several workers, each computing
from the same data with the same deterministic rules, publish the same numbers. An hour's grace
after midnight lets requests that were in flight at the turn of the month commit first.

Except where an indicator says its month is not final yet (concern decisions: a decision may
come up to 14 days after the report and be dated back, app/statistics/indicators.py): such a
month is answered with that indicator null and listed in `unavailable`; that indicator is
counted again on the next request until it is final (its other indicators stay as cached), and
no answer that contains such a month is cached.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from app.enums import AgencyKind
from app.errors import unprocessable
from app.statistics.disclosure import Atom, Cell, protect
from app.statistics.indicators import INDICATORS, Counts, Values
from app.statistics.release import Kind, MonthFigures, Row, pending, release

K = TypeVar("K")
V = TypeVar("V")
GRACE = timedelta(hours=1)
MAX_MONTHS = 36
# Part of every cache key: a change to how an indicator is counted or protected must not be
# answered from tables computed the old way (a process keeps them for its lifetime).
DEFINITIONS_VERSION = 2
KINDS: dict[str, Kind] = {indicator.name: indicator.kind for indicator in INDICATORS}


@dataclass(frozen=True)
class Period:
    first: date  # first day of the first month
    last: date  # first day of the last month (inclusive)

    @property
    def months(self) -> list[date]:
        months, month = [], self.first
        while month <= self.last:
            months.append(month)
            month = _add_months(month, 1)
        return months


@dataclass(frozen=True)
class Statistics:
    period: Period
    group_by: str
    rows: list[Row]
    total: Row
    unavailable: dict[str, str] = field(default_factory=dict)  # indicator → why (months not final)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _parse_month(value: str, name: str) -> date:
    try:
        return date(int(value[:4]), int(value[5:7]), 1)
    except ValueError:
        raise unprocessable(["query", name], "a month as YYYY-MM") from None


def last_published_month(now: datetime, zone: ZoneInfo) -> date:
    """The latest month that has ended (with the grace) in the zone."""
    local = (now - GRACE).astimezone(zone)
    return _add_months(date(local.year, local.month, 1), -1)


def resolve_period(first: str | None, last: str | None, now: datetime, zone: ZoneInfo) -> Period:
    """The months asked for, defaulting to the twelve that ended last."""
    latest = last_published_month(now, zone)
    end = _parse_month(last, "to") if last else latest
    start = _parse_month(first, "from") if first else _add_months(end, -11)
    if end > latest:
        raise unprocessable(["query", "to"], f"only months that have ended are published; the latest is {latest:%Y-%m}")
    if start > end:
        raise unprocessable(["query", "from"], "must not be after `to`")
    if len(Period(start, end).months) > MAX_MONTHS:
        raise unprocessable(["query", "from"], f"a period spans at most {MAX_MONTHS} months")
    return Period(start, end)


def month_bounds(months: Sequence[date], zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Each month as [start, end) in UTC, from local midnights (DST shifts them by an hour)."""

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)

    return [(midnight(month), midnight(_add_months(month, 1))) for month in months]


def _duration_cells(values: dict[Atom, list[int]]) -> dict[Cell, tuple[int, ...]]:
    cells: dict[Cell, list[int]] = {}
    for (kind, municipality), days in values.items():
        for cell in (("total", None), ("agency_kind", kind), ("municipality", municipality)):
            cells.setdefault(cell, []).extend(days)
    return {cell: tuple(sorted(days)) for cell, days in cells.items()}


class StatisticsCache:
    """Published month tables and composed answers, per process; bounded, never stale (above)."""

    def __init__(self, threshold: int, zone: str, max_months: int = 600, max_answers: int = 512) -> None:
        self.threshold = threshold
        self.zone = ZoneInfo(zone)
        self._months: OrderedDict[tuple[date, int, int], MonthFigures] = OrderedDict()
        self._answers: OrderedDict[tuple[Period, str, int, int], Statistics] = OrderedDict()
        self._max_months, self._max_answers = max_months, max_answers
        self._lock = asyncio.Lock()  # one computation at a time; a second request waits for it

    async def answer(self, connection: AsyncConnection, period: Period, group_by: str) -> Statistics:
        key = (period, group_by, self.threshold, DEFINITIONS_VERSION)
        cached = self._answers.get(key)
        if cached is None:
            async with self._lock:
                cached = self._answers.get(key)
                if cached is None:
                    months = await self._month_figures(connection, period.months)
                    rows, total = release(months, group_by, KINDS, self.threshold, _known_groups(group_by))
                    answer = Statistics(period, group_by, rows, total, pending(months))
                    if answer.unavailable:
                        return answer  # not final: computed again next time
                    cached = answer
                    _remember(self._answers, key, cached, self._max_answers)
        self._answers.move_to_end(key)
        return cached

    async def _month_figures(self, connection: AsyncConnection, months: list[date]) -> list[MonthFigures]:
        """The months' tables, from the cache where final. A month with an indicator not final
        yet is computed again, and only that indicator's tables are taken from the new count:
        the others are kept as first published, so they never change."""
        keys = {month: (month, self.threshold, DEFINITIONS_VERSION) for month in months}
        missing = [month for month in months if keys[month] not in self._months or self._months[keys[month]].pending]
        if missing:
            for figures in await compute_months(connection, missing, self.threshold, self.zone):
                kept = self._months.get(keys[figures.month])
                _remember(self._months, keys[figures.month], _merge(kept, figures), self._max_months)
        return [self._months[keys[month]] for month in months]


def _merge(kept: MonthFigures | None, fresh: MonthFigures) -> MonthFigures:
    if kept is None:
        return fresh
    waiting = set(kept.pending)

    def pick(name: str, old: Any, new: Any) -> Any:
        return new if name in waiting else old

    return MonthFigures(
        month=kept.month,
        counts={name: pick(name, table, fresh.counts[name]) for name, table in kept.counts.items()},
        durations={name: pick(name, table, fresh.durations[name]) for name, table in kept.durations.items()},
        pending={name: reason for name, reason in fresh.pending.items() if name in waiting},
    )


def _remember(store: OrderedDict[K, V], key: K, value: V, cap: int) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > cap:
        store.popitem(last=False)


def _known_groups(group_by: str) -> list[str | None]:
    # Every agency kind has a row, also with no data; municipalities are those with data.
    return [kind.value for kind in AgencyKind] if group_by == "agency_kind" else []


async def compute_months(
    connection: AsyncConnection, months: list[date], threshold: int, zone: ZoneInfo
) -> list[MonthFigures]:
    """Each month's published table: the indicators' atoms from SQL, then disclosure control."""
    bounds = month_bounds(months, zone)
    counts: dict[str, list[dict[Cell, int | None]]] = {}
    durations: dict[str, list[dict[Cell, tuple[int, ...]]]] = {}
    not_final: list[dict[str, str]] = [{} for _ in months]
    for indicator in INDICATORS:
        if indicator.final is not None:
            for index, reason in enumerate(await indicator.final(connection, bounds)):
                if reason is not None:
                    not_final[index][indicator.name] = reason
        per_month = await indicator.query(connection, bounds)
        if indicator.kind is Kind.median:
            values: Values = per_month  # type: ignore[assignment]
            durations[indicator.name] = [_duration_cells(month) for month in values]
        else:
            atoms: Counts = per_month  # type: ignore[assignment]
            counts[indicator.name] = [protect(month, threshold) for month in atoms]
    return [
        MonthFigures(
            month=month,
            counts={name: tables[index] for name, tables in counts.items()},
            durations={name: tables[index] for name, tables in durations.items()},
            pending=not_final[index],
        )
        for index, month in enumerate(months)
    ]
