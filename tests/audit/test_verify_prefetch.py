"""The walk's prefetching reader (app/audit/verify.py): every row in order, a fetch error raised
in the walk, and no thread left behind when the walk stops early."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from app.audit.verify import BATCH_ROWS, PREFETCH_BATCHES, _prefetched


class FakeCursor:
    """Hands out `rows` in batches, raising `fail` instead of the batch numbered `fail_at`."""

    def __init__(self, rows: int, *, fail_at: int | None = None, fail: Exception | None = None) -> None:
        self._rows = list(range(rows))
        self._fail_at, self._fail = fail_at, fail
        self.fetches = 0

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        assert size == BATCH_ROWS
        if self._fail_at is not None and self.fetches == self._fail_at:
            assert self._fail is not None
            raise self._fail
        start = self.fetches * size
        self.fetches += 1
        return [(n,) for n in self._rows[start : start + size]]


def fetchers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "samhandling-verify-fetch"]


def test_every_row_arrives_once_in_order() -> None:
    rows = 3 * BATCH_ROWS + 17
    assert [row[0] for row in _prefetched(FakeCursor(rows))] == list(range(rows))
    assert not fetchers()


def test_a_fetch_error_is_raised_in_the_walk() -> None:
    cursor = FakeCursor(5 * BATCH_ROWS, fail_at=2, fail=RuntimeError("the server went away"))
    seen: list[tuple[Any, ...]] = []
    with pytest.raises(RuntimeError, match="the server went away"):
        seen.extend(_prefetched(cursor))
    assert len(seen) == 2 * BATCH_ROWS  # the batches before the failure, none after it
    assert not fetchers()


def test_a_walk_that_stops_early_leaves_no_fetcher_behind() -> None:
    # Far more batches than the queue holds: the fetcher is blocked on a full queue when the walk
    # stops at its first broken link, and must still end before the cursor is closed.
    cursor = FakeCursor((PREFETCH_BATCHES + 10) * BATCH_ROWS)
    walk = _prefetched(cursor)
    assert next(walk) == (0,)
    walk.close()
    assert not fetchers()
    assert cursor.fetches < PREFETCH_BATCHES + 10  # it stopped fetching
