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
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit import journal
from app.audit.entries import as_revoked
from app.audit.write_health import LogWriteHealth
from app.observability import LOG_APPEND_BATCH, LOG_APPEND_SECONDS, describe_error
from app.security.caller import Caller
from app.security.client_status import rejected_clients

logger = logging.getLogger(__name__)

MAX_BATCH_ENTRIES = 2000


@dataclass(slots=True)
class _Waiter:
    entries: Sequence[dict[str, Any]]
    caller: Caller | None
    future: asyncio.Future[bool]


class LogUnavailable(Exception):
    """The entries could not be committed; the request must not deliver its data."""


class GroupCommitter:
    def __init__(
        self,
        engine: AsyncEngine,
        on_commit: Callable[[], None] = lambda: None,
        health: LogWriteHealth | None = None,
    ) -> None:
        self._engine = engine.execution_options(sqlite_write=True)
        self._on_commit = on_commit
        self.health = health if health is not None else LogWriteHealth(window_seconds=0)
        self._pending: deque[_Waiter] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    async def append(self, entries: Sequence[dict[str, Any]], caller: Caller | None = None) -> bool:
        """Return once `entries` are committed; raise LogUnavailable if they cannot be.

        With a caller, its client is checked in the same transaction: False means the client is
        revoked (or unknown), and the entries were committed as 401 denials instead.
        """
        if not entries:
            return True
        if self._closing:
            raise LogUnavailable("the log appender is shutting down")
        loop = asyncio.get_running_loop()
        self._ensure_running(loop)
        waiter = _Waiter(entries, caller, loop.create_future())
        self._pending.append(waiter)
        assert self._wake is not None
        self._wake.set()
        return await waiter.future

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
        while self._pending and (not batch or size + len(self._pending[0].entries) <= MAX_BATCH_ENTRIES):
            item = self._pending.popleft()
            batch.append(item)
            size += len(item.entries)
        return batch

    async def _commit(self, batch: list[_Waiter]) -> None:
        started = time.perf_counter()
        try:
            async with self._engine.begin() as connection:
                rejected = await rejected_clients(connection, [item.caller for item in batch if item.caller])
                entries: list[dict[str, Any]] = []
                for item in batch:
                    refused = item.caller is not None and item.caller.client_id in rejected
                    entries.extend(as_revoked(item.entries) if refused else item.entries)
                await journal.append(connection, entries)
        except Exception as error:  # every waiter learns that its entries are not committed
            logger.error("access log append failed for a batch of %d requests: %s", len(batch), describe_error(error))
            self.health.failed()
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(LogUnavailable(describe_error(error)))
            return
        for item in batch:
            if not item.future.done():
                item.future.set_result(item.caller is None or item.caller.client_id not in rejected)
        LOG_APPEND_SECONDS.labels("group").observe(time.perf_counter() - started)
        LOG_APPEND_BATCH.observe(len(entries))
        self.health.succeeded()
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
