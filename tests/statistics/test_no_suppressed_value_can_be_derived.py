"""Property: from every documented query over random data, no suppressed value can be derived.

The reader asks every query the API documents over the months at hand — every period of whole
months (all overlapping ranges) × every grouping — and so knows every published number. Each
number is a sum of unknown atoms (month × agency kind × municipality counts); the reader is
granted even which atoms are non-zero. A suppressed value is derivable when its sum is a linear
combination of published sums; that is checked exactly, with this file's own elimination (not
the service's). And where a total and some of its groups are published, the hidden groups'
upper bound (total − published − one for each other hidden group, as none is zero) must not
fall below the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from app.statistics.disclosure import Atom, Cell, cells_of, protect
from app.statistics.release import Kind, MonthFigures, Row, release

KINDS = ["school", "preschool", "health_care", "police"]
MUNICIPALITIES = ["Nora", "Lindesberg", None]
INDICATORS = {"concerns": Kind.flow, "open": Kind.stock}
GROUPINGS = ["month", "agency_kind", "municipality"]
THRESHOLD = 5
Unknown = tuple[str, int, Atom]  # (indicator, month, atom)
Protector = Callable[[Mapping[Atom, int], int], dict[Cell, int | None]]

counts = st.one_of(st.integers(0, 6), st.integers(0, 30))  # mostly small: where suppression matters
month_atoms = st.dictionaries(st.tuples(st.sampled_from(KINDS), st.sampled_from(MUNICIPALITIES)), counts, max_size=8)
data = st.lists(st.tuples(month_atoms, month_atoms), min_size=1, max_size=3)


def in_span(basis: dict[int, dict[int, Fraction]], vector: dict[int, Fraction]) -> bool:
    """Reduce by a basis kept in reduced row echelon form; a zero remainder means "in the span"."""
    row = dict(vector)
    for pivot, base in basis.items():
        factor = row.get(pivot)
        if factor:
            for index, value in base.items():
                row[index] = row.get(index, Fraction(0)) - factor * value
            row = {index: value for index, value in row.items() if value}
    return not row


def add(basis: dict[int, dict[int, Fraction]], vector: dict[int, Fraction]) -> None:
    row = dict(vector)
    for pivot, base in basis.items():
        factor = row.get(pivot)
        if factor:
            for index, value in base.items():
                row[index] = row.get(index, Fraction(0)) - factor * value
            row = {index: value for index, value in row.items() if value}
    if not row:
        return
    pivot = min(row)
    row = {index: value / row[pivot] for index, value in row.items()}
    for base in basis.values():
        factor = base.pop(pivot, None)
        if factor:
            for index, value in row.items():
                if index != pivot:
                    base[index] = base.get(index, Fraction(0)) - factor * value
            for index in [index for index, value in base.items() if not value]:
                del base[index]
    basis[pivot] = row


def leaks(months: list[tuple[dict[Atom, int], dict[Atom, int]]], protector: Protector = protect) -> list[str]:
    """Everything a reader of all documented queries could work out that they should not."""
    truth = {("concerns", index): flow for index, (flow, _stock) in enumerate(months)}
    truth |= {("open", index): stock for index, (_flow, stock) in enumerate(months)}
    figures = [
        MonthFigures(
            month=date(2025, index + 1, 1),
            counts={name: protector(truth[(name, index)], THRESHOLD) for name in INDICATORS},
            durations={},
        )
        for index in range(len(months))
    ]
    unknowns: dict[Unknown, int] = {}
    for (name, index), atoms in truth.items():
        for atom, count in atoms.items():
            if count > 0:
                unknowns.setdefault((name, index, atom), len(unknowns))

    def vector(name: str, month_range: range, cell: Cell) -> dict[int, Fraction]:
        chosen = [month_range[-1]] if INDICATORS[name] is Kind.stock else list(month_range)
        dimension, group = cell
        position = {"agency_kind": 0, "municipality": 1}.get(dimension)
        return {
            number: Fraction(1)
            for (unknown_name, index, atom), number in unknowns.items()
            if unknown_name == name and index in chosen and (position is None or atom[position] == group)
        }

    published: list[tuple[dict[int, Fraction], int]] = []
    hidden: list[tuple[str, dict[int, Fraction]]] = []
    found: list[str] = []
    for first in range(len(months)):
        for last in range(first, len(months)):
            for grouping in GROUPINGS:
                rows, total = release(figures[first : last + 1], grouping, INDICATORS, THRESHOLD)
                for name in INDICATORS:
                    cells: list[tuple[Row, range, Cell]] = [(total, range(first, last + 1), ("total", None))]
                    if grouping == "month":
                        cells += [(row, range(first + i, first + i + 1), ("total", None)) for i, row in enumerate(rows)]
                    else:
                        cells += [(row, range(first, last + 1), (grouping, row.group)) for row in rows]
                        found += bound_leaks(name, total, rows, f"{first}-{last} by {grouping}")
                    for row, months_of, cell in cells:
                        value, functional = row.values[name], vector(name, months_of, cell)
                        label = f"{name} {months_of} {cell}"
                        if value is None:
                            hidden.append((label, functional))
                        else:
                            assert value == sum(  # the published number is the true one
                                truth[(name, i)].get(atom, 0) for (n, i, atom), number in unknowns.items()
                                if n == name and number in functional
                            ), label  # fmt: skip
                            published.append((functional, int(value)))
    basis: dict[int, dict[int, Fraction]] = {}
    for functional, _value in published:
        add(basis, functional)
    found += [label for label, functional in hidden if in_span(basis, functional)]
    return found


def bound_leaks(name: str, total: Row, rows: list[Row], query: str) -> list[str]:
    if total.values[name] is None:
        return []
    hidden = [row for row in rows if row.values[name] is None]
    if not hidden:
        return []
    published = sum(int(row.values[name] or 0) for row in rows if row.values[name] is not None)
    bound = int(total.values[name] or 0) - published - (len(hidden) - 1)
    return [] if bound >= THRESHOLD else [f"{name} {query}: hidden groups bounded by {bound}"]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data)
def test_no_suppressed_value_can_be_derived_from_all_documented_queries(
    months: list[tuple[dict[Atom, int], dict[Atom, int]]],
) -> None:
    assert leaks(months) == []


def test_the_check_finds_what_primary_suppression_alone_leaks() -> None:
    def primary_only(atoms: Mapping[Atom, int], threshold: int) -> dict[Cell, int | None]:
        return {cell: None if 0 < value < threshold else value for cell, value in cells_of(atoms).items()}

    one_month: list[tuple[dict[Atom, int], dict[Atom, int]]] = [
        ({("school", "Nora"): 3, ("preschool", "Nora"): 9, ("police", "Lindesberg"): 8}, {})
    ]
    assert leaks(one_month, primary_only)  # total − preschool − police = the school's 3
    assert leaks(one_month) == []
