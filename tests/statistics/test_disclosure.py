"""Disclosure control of one month's table, and answers over periods built only from such tables."""

from __future__ import annotations

from datetime import date

from app.statistics.disclosure import TOTAL, Atom, derivable, protect
from app.statistics.linear import Span
from app.statistics.release import Kind, MonthFigures, release

KIND = "agency_kind"
MUNI = "municipality"


def test_a_group_of_four_is_null_and_the_total_minus_the_others_does_not_give_it_back() -> None:
    atoms: dict[Atom, int] = {
        ("school", "Nora"): 4,
        ("preschool", "Nora"): 9,
        ("health_care", "Nora"): 6,
        ("police", "Nora"): 7,
    }
    table = protect(atoms, 5)
    assert table[(KIND, "school")] is None
    published = [value for (dimension, _group), value in table.items() if dimension == KIND and value is not None]
    hidden = [cell for cell, value in table.items() if cell[0] == KIND and value is None]
    assert len(hidden) >= 2  # a complement: total − published is the sum of two or more cells
    assert table[TOTAL] == 26
    total = table[TOTAL]
    assert total is not None
    assert total - sum(published) != 4
    # The complement is the smallest other cell (least lost); its bound keeps the pair ambiguous.
    assert table[(KIND, "health_care")] is None
    assert table[(KIND, "preschool")] == 9


def test_zero_is_published_and_a_table_with_nothing_small_is_published_whole() -> None:
    table = protect({("school", "Nora"): 5, ("preschool", "Lindesberg"): 12}, 5)
    assert table == {
        TOTAL: 17,
        (KIND, "school"): 5,
        (KIND, "preschool"): 12,
        (MUNI, "Nora"): 5,
        (MUNI, "Lindesberg"): 12,
    }


def test_a_small_total_hides_every_cell_but_the_zeros() -> None:
    table = protect({("school", "Nora"): 3}, 5)
    assert table == {TOTAL: None, (KIND, "school"): None, (MUNI, "Nora"): None}


def test_the_other_grouping_does_not_give_a_hidden_cell_back() -> None:
    # Nora has only a school and a health centre: Nora − health care would be the school's 4.
    atoms: dict[Atom, int] = {
        ("school", "Nora"): 4,
        ("health_care", "Nora"): 6,
        ("preschool", "Lindesberg"): 9,
        ("social_services", "Lindesberg"): 5,
    }
    table = protect(atoms, 5)
    assert table[(KIND, "school")] is None
    nora, health = table[(MUNI, "Nora")], table[(KIND, "health_care")]
    assert nora is None or health is None
    hidden = {cell for cell, value in table.items() if value is None}
    assert derivable(dict.fromkeys(table, 1), hidden, atoms) == []


def test_a_row_whose_hidden_cells_would_be_pinned_hides_the_total() -> None:
    # 4 + 1 = 5: two hidden cells of at least 1 each with a sum of 5 would bound both below 5.
    table = protect({("school", "Lindesberg"): 4, ("health_care", "Nora"): 1}, 5)
    assert set(table.values()) == {None}


def test_the_threshold_is_a_setting() -> None:
    atoms: dict[Atom, int] = {("school", "Nora"): 7, ("preschool", "Nora"): 20}
    assert protect(atoms, 5)[(KIND, "school")] == 7
    assert protect(atoms, 10)[(KIND, "school")] is None


def test_the_same_data_gives_the_same_pattern() -> None:
    atoms: dict[Atom, int] = {
        ("school", "A"): 3,
        ("preschool", "B"): 3,
        ("police", "A"): 3,
        ("health_care", "B"): 3,
        ("school", "B"): 9,
    }
    assert protect(atoms, 5) == protect(dict(reversed(list(atoms.items()))), 5)


def _month(
    month: int, atoms: dict[tuple[str, str | None], int], stock: dict[tuple[str, str | None], int]
) -> MonthFigures:
    return MonthFigures(
        month=date(2025, month, 1),
        counts={"concerns": protect(atoms, 5), "open": protect(stock, 5)},
        durations={"days": {TOTAL: (1, 2, 3, 4, 5)} if month == 1 else {TOTAL: (9,)}},
    )


INDICATORS = {"concerns": Kind.flow, "open": Kind.stock, "days": Kind.median}


def test_overlapping_periods_do_not_give_a_hidden_month_back() -> None:
    january = _month(1, {("school", "Nora"): 10, ("preschool", "Nora"): 12}, {("school", "Nora"): 8})
    february = _month(2, {("school", "Nora"): 3, ("preschool", "Nora"): 12}, {("school", "Nora"): 8})
    both, _ = release([january, february], KIND, INDICATORS, 5)
    alone, _ = release([january], KIND, INDICATORS, 5)
    school_both = next(row for row in both if row.group == "school")
    school_january = next(row for row in alone if row.group == "school")
    assert school_january.values["concerns"] == 10
    assert school_both.values["concerns"] is None  # else (Jan–Feb) − Jan = 3
    assert "concerns" in school_both.suppressed


def test_a_period_sums_its_months_and_a_stock_is_its_last_month() -> None:
    january = _month(1, {("school", "Nora"): 10, ("preschool", "Nora"): 12}, {("school", "Nora"): 8})
    february = _month(2, {("school", "Nora"): 6, ("preschool", "Nora"): 5}, {("school", "Nora"): 9})
    rows, total = release([january, february], "month", INDICATORS, 5)
    assert [row.group for row in rows] == ["2025-01", "2025-02"]
    assert [row.values["concerns"] for row in rows] == [22, 11]
    assert total.values == {"concerns": 33, "open": 9, "days": 3.5}  # pooled: 1 2 3 4 5 9
    assert rows[1].values["days"] is None
    assert rows[1].suppressed == ["days"]


def test_every_agency_kind_has_a_row() -> None:
    january = _month(1, {("school", "Nora"): 10}, {})
    rows, _ = release([january], KIND, INDICATORS, 5, ["police", "school"])
    assert [(row.group, row.values["concerns"]) for row in rows] == [("police", 0), ("school", 10)]


def test_span_membership_is_exact() -> None:
    span = Span([{0: 1, 1: 1}, {1: 1, 2: 1}])
    assert span.contains({0: 1, 2: -1})
    assert not span.contains({0: 1})
    span.add({2: 1})
    assert span.contains({0: 1})
