"""Exact linear algebra over the rationals: is a vector in the span of others?

The disclosure audit asks whether a suppressed cell (a sum of unknown cross-classified counts)
is a linear combination of published cells. Floating point could answer "yes" or "no" wrongly on
nearly dependent rows; fractions cannot, and the systems are small (one month: at most a few
dozen unknowns), so exactness costs little.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

Vector = Mapping[int, int]  # sparse: index of an unknown → coefficient


class Span:
    """A row-reduced basis; `contains` tells whether a vector is a combination of those added."""

    def __init__(self, vectors: Iterable[Vector] = ()) -> None:
        self._rows: dict[int, dict[int, Fraction]] = {}  # pivot index → row with 1 at the pivot
        for vector in vectors:
            self.add(vector)

    def _reduce(self, vector: Vector) -> dict[int, Fraction]:
        row = {index: Fraction(value) for index, value in vector.items() if value}
        for pivot, basis in self._rows.items():
            factor = row.get(pivot)
            if factor:
                for index, value in basis.items():
                    updated = row.get(index, Fraction(0)) - factor * value
                    if updated:
                        row[index] = updated
                    else:
                        row.pop(index, None)
        return row

    def add(self, vector: Vector) -> None:
        row = self._reduce(vector)
        if not row:
            return
        pivot = min(row)
        scale = row[pivot]
        row = {index: value / scale for index, value in row.items()}
        # Keep the basis fully reduced: clear the new pivot from every earlier row.
        for basis in self._rows.values():
            factor = basis.get(pivot)
            if factor:
                for index, value in row.items():
                    updated = basis.get(index, Fraction(0)) - factor * value
                    if updated:
                        basis[index] = updated
                    else:
                        basis.pop(index, None)
        self._rows[pivot] = row

    def contains(self, vector: Vector) -> bool:
        return not self._reduce(vector)
