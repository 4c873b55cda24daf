"""Which cells of one month's table may be published.

A month's table for one count indicator is its county total, one cell per agency kind and one per
municipality. Underneath are the *atoms*: the counts per (agency kind, municipality), which are
never published. Every published cell is a sum of atoms.

The rules, applied in this order and repeated until nothing changes:

1. **Primary suppression.** A count from 1 to threshold − 1 is hidden. Zero is published: it
   says that nothing happened, which reveals no child.
2. **Complementary suppression within a row** (the kinds, or the municipalities, summing to the
   total). If a row hides anything while its total is published, the row hides at least two
   cells, and their sum s (which anyone can work out as total minus the published cells) obeys
   s ≥ threshold + k − 1 for k hidden cells. Since a hidden cell is never zero, that is what
   keeps each hidden cell's upper bound (s − (k − 1)) at threshold or above, and its range more
   than one value wide: the row cannot pin a cell down, nor show that it is small. Complements are
   the smallest non-zero cells, so as little as possible is lost. When no choice of the row's cells
   reaches the bound, the total is hidden too.
3. **A hidden total** needs a hidden cell in each row, else the row's sum gives it back.
4. **Exact audit.** A hidden cell must not be a linear combination of the published cells, with
   the unknowns being the month's non-zero atoms — as if the reader knew exactly which pairs of
   kind and municipality had any data (say, that a municipality has a single school and no other
   agency). That is stronger knowledge than any reader has; being safe against it is safe
   against less. When a hidden cell is derivable, the smallest published cell sharing atoms with
   it (in the other dimension first, where the link runs) is hidden as well, and the rules run
   again.

Publishing more than this table — sums over several months — is `release`'s business: it only
ever adds cells that are sums of published month cells, so the audit here covers every query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.statistics.linear import Span

Group = str | None
Atom = tuple[str, Group]  # (agency kind, municipality); the municipality may be unrecorded
Cell = tuple[str, Group]  # (dimension, group); the county total is TOTAL
TOTAL: Cell = ("total", None)
DIMENSIONS = ("agency_kind", "municipality")


def atoms_of(cell: Cell, atoms: Iterable[Atom]) -> list[Atom]:
    """The atoms a cell sums."""
    dimension, group = cell
    if dimension == "total":
        return list(atoms)
    position = DIMENSIONS.index(dimension)
    return [atom for atom in atoms if atom[position] == group]


def cells_of(atoms: Mapping[Atom, int]) -> dict[Cell, int]:
    """Every cell of the month's table with its true count (groups with no data are left out)."""
    cells: dict[Cell, int] = {TOTAL: 0}
    for (kind, municipality), count in atoms.items():
        if count <= 0:
            continue
        cells[TOTAL] += count
        for cell in (("agency_kind", kind), ("municipality", municipality)):
            cells[cell] = cells.get(cell, 0) + count
    return cells


def _order(cell: Cell, value: int) -> tuple[int, str, str]:
    return (value, cell[0], cell[1] or "")  # deterministic: the same data, the same pattern


def _protect_rows(cells: Mapping[Cell, int], hidden: set[Cell], threshold: int) -> None:
    for dimension in DIMENSIONS:
        row = {cell: value for cell, value in cells.items() if cell[0] == dimension}
        inside = {cell for cell in row if cell in hidden}
        if TOTAL in hidden:
            if not inside and row:  # rule 3 (a row of a positive total has a non-zero cell)
                hidden.add(min(row, key=lambda cell: _order(cell, row[cell])))
            continue
        if not inside:
            continue
        candidates = sorted((cell for cell in row if cell not in inside), key=lambda cell: _order(cell, row[cell]))
        while len(inside) < 2 or sum(row[cell] for cell in inside) < threshold + len(inside) - 1:
            if not candidates:
                hidden.add(TOTAL)  # rule 2's fallback; rule 3 then runs on the next pass
                break
            inside.add(candidates.pop(0))
        hidden |= inside


def derivable(cells: Mapping[Cell, int], hidden: set[Cell], atoms: Mapping[Atom, int]) -> list[Cell]:
    """The hidden cells that are linear combinations of the published ones (rule 4)."""
    present = sorted((atom for atom, count in atoms.items() if count > 0), key=lambda atom: (atom[0], atom[1] or ""))
    index = {atom: position for position, atom in enumerate(present)}

    def vector(cell: Cell) -> dict[int, int]:
        return {index[atom]: 1 for atom in atoms_of(cell, present)}

    published = Span(vector(cell) for cell in cells if cell not in hidden)
    return [cell for cell in sorted(hidden, key=lambda cell: _order(cell, 0)) if published.contains(vector(cell))]


def _complement_for(cell: Cell, cells: Mapping[Cell, int], hidden: set[Cell], atoms: Mapping[Atom, int]) -> Cell:
    mine = set(atoms_of(cell, [atom for atom, count in atoms.items() if count > 0]))
    published = [other for other in cells if other not in hidden and other != TOTAL]
    linked = [other for other in published if other[0] != cell[0] and mine & set(atoms_of(other, mine))]
    for choice in (linked, [other for other in published if other[0] == cell[0]], published):
        if choice:
            return min(choice, key=lambda other: _order(other, cells[other]))
    return TOTAL


def protect(atoms: Mapping[Atom, int], threshold: int) -> dict[Cell, int | None]:
    """The month's table as published: hidden cells are None."""
    cells = cells_of(atoms)
    hidden = {cell for cell, value in cells.items() if 0 < value < threshold}
    while True:
        before = len(hidden)
        _protect_rows(cells, hidden, threshold)
        if len(hidden) != before:
            continue
        leaks = derivable(cells, hidden, atoms)
        if not leaks:
            break
        hidden.add(_complement_for(leaks[0], cells, hidden, atoms))
    return {cell: None if cell in hidden else value for cell, value in cells.items()}
