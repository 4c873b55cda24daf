"""Repeated identical anonymous denials become one access-log entry with a count.

A flood of unauthenticated requests (the review measured ~1 100 401s a second) would otherwise
write a permanent, chained entry each — about 40 GB a day. Only denials *without a verified
caller* are aggregated: 401s for a missing or invalid token, failed client authentications and
their 429s. Every request with a verified caller is logged on its own, before it is answered,
exactly as before.

Per key — (source address, and everything the entry records except its time and request id) —
the first denial opens a window and is logged as usual, before its answer. Identical denials
within `SAMHANDLING_ANONYMOUS_DENIAL_WINDOW_SECONDS` are answered at once and only counted; when
the window closes (or the process shuts down) one entry is written for them: the last one's
fields with `repeat_count` = how many (a single repeat is an ordinary entry). The source address
(hashed) is a key in this process's memory only, never written to the log.

What a crash can lose: the counts of the windows still open (at most one window's worth of
anonymous denials per key) — never an access by a verified caller, and never a first denial.
When more than `MAX_OPEN_RUNS` keys are open at once, further denials are logged one by one:
memory stays bounded and nothing is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.audit.group_commit import GroupCommitter
from app.observability import describe_error

logger = logging.getLogger(__name__)

MAX_OPEN_RUNS = 10_000
_PER_REQUEST = ("at", "request_id")

Key = tuple[Any, ...]


@dataclass(slots=True)
class _Run:
    opened: float
    count: int = 0
    last: list[dict[str, Any]] = field(default_factory=list)


def _key(address: str | None, entries: list[dict[str, Any]]) -> Key:
    content = tuple(
        tuple(sorted((name, value) for name, value in entry.items() if name not in _PER_REQUEST)) for entry in entries
    )
    return (hashlib.sha256((address or "").encode()).digest(), content)


class DenialAggregator:
    def __init__(
        self,
        committer: GroupCommitter,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.committer = committer
        self.window = window_seconds
        self._clock = clock
        self._open: dict[Key, _Run] = {}
        self._closed: list[_Run] = []  # windows that closed when a new one opened on their key
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    @property
    def enabled(self) -> bool:
        return self.window > 0 and not self._closing

    def offer(self, address: str | None, entries: list[dict[str, Any]]) -> bool:
        """True: log these entries now, as usual. False: they are counted into an open window."""
        if not self.enabled or not entries:
            return True
        key, now = _key(address, entries), self._clock()
        run = self._open.get(key)
        if run is not None and now - run.opened < self.window:
            run.count += 1
            run.last = entries
            return False
        if run is not None:
            self._closed.append(self._open.pop(key))
        if len(self._open) < MAX_OPEN_RUNS:
            self._open[key] = _Run(opened=now)
            self._ensure_running()
        return True

    async def flush(self, everything: bool = False) -> int:
        """Write the counts of the windows that have closed (all of them when `everything`)."""
        now = self._clock()
        runs, self._closed = self._closed, []
        for key in [key for key, run in self._open.items() if everything or now - run.opened >= self.window]:
            runs.append(self._open.pop(key))
        written = 0
        for run in runs:
            written += await self._write(run)
        return written

    async def _write(self, run: _Run) -> int:
        if run.count == 0:
            return 0
        repeat = run.count if run.count > 1 else None
        try:
            await self.committer.append([{**entry, "repeat_count": repeat} for entry in run.last])
        except Exception as error:  # the count is lost, never an authenticated access
            logger.warning("lost the count of %d anonymous denials: %s", run.count, describe_error(error))
            return 0
        return len(run.last)

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is not None and self._loop is loop and not self._task.done():
            return
        self._loop = loop
        self._task = loop.create_task(self._run(), name="access-log-denial-aggregation")

    async def _run(self) -> None:
        while not self._closing and (self._open or self._closed):
            await asyncio.sleep(min(self.window, 1.0))
            await self.flush()

    async def close(self) -> None:
        """Shutdown: write every open window's count (before the group committer closes)."""
        self._closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        await self.flush(everything=True)
