"""Group commit for the log entries of requests that write nothing else.

A read must not send its data before its log entry is committed, and a commit per read is the
largest cost of the request path. So each process keeps one appender task: requests hand it
their entries and wait; while one batch commits, the next one gathers, and the whole batch is
inserted and committed in one transaction. Under load one commit serves many requests; with a
single request in flight it costs the same as a commit of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit import journal

logger = logging.getLogger(__name__)

MAX_BATCH_ENTRIES = 2000


_Waiter = tuple[Sequence[dict[str, Any]], "asyncio.Future[None]"]


class LogUnavailable(Exception):
    """The entries could not be committed; the request must not deliver its data."""


class GroupCommitter:
    def __init__(self, engine: AsyncEngine, on_commit: Callable[[], None] = lambda: None) -> None:
        self._engine = engine.execution_options(sqlite_write=True)
        self._on_commit = on_commit
        self._pending: deque[_Waiter] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    async def append(self, entries: Sequence[dict[str, Any]]) -> None:
        """Return once `entries` are committed; raise LogUnavailable if they cannot be."""
        if not entries:
            return
        if self._closing:
            raise LogUnavailable("the log appender is shutting down")
        loop = asyncio.get_running_loop()
        self._ensure_running(loop)
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((entries, future))
        assert self._wake is not None
        self._wake.set()
        await future

    def _ensure_running(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._task is not None and self._loop is loop and not self._task.done():
            return
        self._loop = loop
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="access-log-group-commit")

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._take_batch()
                await self._commit(batch)
            if self._closing:
                return

    def _take_batch(self) -> list[_Waiter]:
        batch: list[_Waiter] = []
        size = 0
        while self._pending and (not batch or size + len(self._pending[0][0]) <= MAX_BATCH_ENTRIES):
            item = self._pending.popleft()
            batch.append(item)
            size += len(item[0])
        return batch

    async def _commit(self, batch: list[_Waiter]) -> None:
        entries = [entry for item_entries, _ in batch for entry in item_entries]
        try:
            async with self._engine.begin() as connection:
                await journal.append(connection, entries)
        except Exception as error:  # every waiter learns that its entries are not committed
            logger.error("access log append failed for %d entries: %s", len(entries), error)
            for _, future in batch:
                if not future.done():
                    future.set_exception(LogUnavailable(str(error)))
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)
        self._on_commit()

    async def close(self) -> None:
        """Commit what is pending, then stop (graceful shutdown)."""
        self._closing = True
        if self._task is not None and not self._task.done() and self._wake is not None:
            self._wake.set()
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
