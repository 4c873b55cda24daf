"""Answering a query over a period from the published month tables, and nothing else.

Why every query is covered by the month tables' audit (`disclosure`):

- A *flow* (concerns raised, mandatory reports) over several months is the sum of its month
  cells, published only when every one of them is published. Such a sum is a combination of
  published cells and tells nothing new; any other sum would (two overlapping periods, or a
  period and its months, would give a hidden month back by subtraction), so it is hidden.
- A *stock* (children with an open team) is counted at the end of the period, so a period's cell
  *is* its last month's cell — the same number, hidden or published alike.
- A *median* is published only over at least threshold values; it is not a sum, so it has no
  linear relation to the counts.

So the reader of any number of queries knows no more than the published month tables, and those
pass the exact audit. Months are whole calendar months, published once they have ended (their
figures are then final), which is also what lets their tables be cached without invalidation.
"""

from __future__ import annotations

import statistics as stats
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from itertools import chain

from app.statistics.disclosure import TOTAL, Cell, Group


class Kind(StrEnum):
    flow = "flow"  # counted over the period; adds up over months
    stock = "stock"  # counted at the period's end
    median = "median"  # median of values (days) of the period's cases


@dataclass(frozen=True)
class MonthFigures:
    """One month as published: count cells after suppression, and each median's raw values."""

    month: date
    counts: Mapping[str, Mapping[Cell, int | None]]
    durations: Mapping[str, Mapping[Cell, tuple[int, ...]]]
    # Indicators whose figures for this month are not final yet, and why: none of their cells
    # is published (not a suppression: nothing is there to protect yet), nor any period with it.
    pending: Mapping[str, str] = field(default_factory=dict)

    def groups(self, dimension: str) -> set[Group]:
        found: set[Group] = set()
        for table in chain(self.counts.values(), self.durations.values()):
            found |= {group for kind, group in table if kind == dimension}
        return found


def pending(months: Sequence[MonthFigures]) -> dict[str, str]:
    """The indicators not final in some of the months: the months, and the (first) reason."""
    result: dict[str, str] = {}
    for name in dict.fromkeys(name for month in months for name in month.pending):
        waiting = [month for month in months if name in month.pending]
        names = ", ".join(f"{month.month:%Y-%m}" for month in waiting)
        result[name] = f"{names}: {waiting[0].pending[name]}"
    return result


@dataclass
class Row:
    group: Group
    values: dict[str, float | int | None]
    suppressed: list[str] = field(default_factory=list)


def _value(months: Sequence[MonthFigures], cell: Cell, name: str, kind: Kind, threshold: int) -> float | int | None:
    if any(name in month.pending for month in months):
        return None
    if kind is Kind.flow:
        parts = [month.counts[name].get(cell, 0) for month in months]
        return None if any(part is None for part in parts) else sum(part for part in parts if part is not None)
    if kind is Kind.stock:
        return months[-1].counts[name].get(cell, 0)
    pooled = list(chain.from_iterable(month.durations[name].get(cell, ()) for month in months))
    return float(stats.median(pooled)) if len(pooled) >= threshold else None


def row(
    months: Sequence[MonthFigures], cell: Cell, label: Group, indicators: Mapping[str, Kind], threshold: int
) -> Row:
    result = Row(group=label, values={})
    for name, kind in indicators.items():
        value = _value(months, cell, name, kind, threshold)
        result.values[name] = value
        if value is None and not any(name in month.pending for month in months):
            result.suppressed.append(name)
    return result


def release(
    months: Sequence[MonthFigures],
    group_by: str,
    indicators: Mapping[str, Kind],
    threshold: int,
    known_groups: Iterable[Group] = (),
) -> tuple[list[Row], Row]:
    """The rows of a query over these consecutive months, and the period's total."""
    total = row(months, TOTAL, "total", indicators, threshold)
    if group_by == "month":
        return [row([month], TOTAL, month.month.strftime("%Y-%m"), indicators, threshold) for month in months], total
    groups = set(known_groups).union(*(month.groups(group_by) for month in months))
    ordered = sorted(groups, key=lambda group: (group is None, group or ""))
    return [row(months, (group_by, group), group, indicators, threshold) for group in ordered], total
