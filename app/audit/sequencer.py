"""The sequencer: chains committed access-log entries, in commit order, in batches.

Requests insert entries without any shared lock. The sequencer then gives each committed entry
its place in the chain — `seq`, `prev_hash`, `hash` — in a row of `access_log_chain`, one pass
at a time (a PostgreSQL advisory lock; SQLite's single writer), so the chain is linear and
gap-free however many API workers append.

Which entries are committed for good? On PostgreSQL every entry carries the id of the
transaction that inserted it. Below the oldest transaction still running in this database,
every transaction has finished: its entries are visible now or never will be. The sequencer
chains, in (txid, id) order, exactly the entries after the last one it chained and below that
horizon, so an entry committed late by a slow transaction is never skipped. On SQLite one
writer at a time commits, in id order.

Each pass also extends the Merkle tree over the chain (app/audit/tree_store.py) in the same
transaction; on a log older than the tree, passes build it from the chain in bounded batches.

Why not chain inside each request's transaction? Then every writing transaction would hold
the chain head's lock until it commits, and all requests of all workers would queue behind it
(measured: bench/log_append.py, README "The access log").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.chain import entry_hash
from app.audit.tree_store import extend_tree
from app.db import APPLICATION_NAME
from app.models.audit import AccessLogChainLink, AccessLogEntry, ChainHead
from app.models.base import table_of
from app.observability import describe_error

logger = logging.getLogger(__name__)

BATCH_ENTRIES = 5000
CATCH_UP_SECONDS = 2.0
# Any constant works; it only has to be the same in every process that chains.
SEQUENCER_LOCK_KEY = 7_214_004_372
HEAD_ID = 1

_log = table_of(AccessLogEntry)
_chain = table_of(AccessLogChainLink)
_head = table_of(ChainHead)


# The oldest transaction still running *in this database* of *the service's own sessions*
# (application_name `samhandling`: API, worker, CLI, migrations). Other databases on the same
# server never write our log, and neither does an operator's psql or a reporting tool in ours:
# their long transactions must not hold the chain, the event feed and log reads back (issue 24:
# an open psql froze the chain head for 34 s). An entry such a session inserted anyway and
# committed after the horizon passed it stays unchained — which `audit verify` reports as an
# entry "within the chained range but not in the chain": a write outside the service. Transaction ids
# in pg_stat_activity are 32-bit; they are widened with the epoch of the snapshot's xmax. The
# snapshot is taken before the activity is read: a transaction missing from the activity has
# finished, and its entries are visible to the next statement; one that started later has an
# id at or above xmax.
_DATABASE_HORIZON = text(
    """
    WITH snapshot AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax)
    SELECT LEAST(
        (SELECT xmax FROM snapshot),
        (SELECT min(CASE WHEN widened > snapshot.xmax THEN widened - 4294967296 ELSE widened END)
           FROM snapshot,
                LATERAL (SELECT ((snapshot.xmax >> 32) << 32) + activity.backend_xid::text::bigint AS widened
                           FROM pg_stat_activity AS activity
                          WHERE activity.datname = current_database()
                            AND activity.backend_xid IS NOT NULL
                            AND activity.pid <> pg_backend_pid()
                            AND activity.application_name = :service) AS running)
    )::text
    """
).bindparams(service=APPLICATION_NAME)
# What holds the horizon now: the service's oldest open transaction that has written (for
# /readyz and its metric — a frozen host or a stuck request shows here, with its age).
_HORIZON_HOLDER = text(
    """
    SELECT activity.pid, activity.state, extract(epoch FROM clock_timestamp() - activity.xact_start)::float8
      FROM pg_stat_activity AS activity
     WHERE activity.datname = current_database()
       AND activity.backend_xid IS NOT NULL
       AND activity.pid <> pg_backend_pid()
       AND activity.application_name = :service
     ORDER BY activity.xact_start
     LIMIT 1
    """
).bindparams(service=APPLICATION_NAME)
# The sequencer's own transactions (named below) insert chain links only, never entries or
# events, so they need not hold anybody back.
SEQUENCER_APPLICATION_NAME = "samhandling-sequencer"
# Without the right to see every session's transaction, fall back to the server-wide horizon:
# always safe, only slower to advance while some other database has a long transaction.
_MAY_SEE_ALL_SESSIONS = text(
    "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
    "OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')"
)
_SERVER_HORIZON = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")


@dataclass(frozen=True)
class HorizonHolder:
    """The service session whose open transaction the chain waits for."""

    pid: int
    state: str | None
    seconds: float


def horizon_holder(connection: Connection) -> HorizonHolder | None:
    """The oldest open transaction the sequencer waits for, if any (PostgreSQL; None on SQLite
    or without the right to see other sessions)."""
    if connection.dialect.name != "postgresql" or not connection.execute(_MAY_SEE_ALL_SESSIONS).scalar():
        return None
    row = connection.execute(_HORIZON_HOLDER).one_or_none()
    return None if row is None else HorizonHolder(pid=row[0], state=row[1], seconds=float(row[2] or 0.0))


def committed_horizon(connection: Connection) -> int | None:
    """Entries of transactions below this id are final (PostgreSQL); None: no limit (SQLite)."""
    if connection.dialect.name != "postgresql":
        return None
    may_see_all = connection.execute(_MAY_SEE_ALL_SESSIONS).scalar()
    value = connection.execute(_DATABASE_HORIZON if may_see_all else _SERVER_HORIZON).scalar()
    return int(value) if value is not None else None


def chain_pending(connection: Connection, *, wait: bool = False, limit: int = BATCH_ENTRIES) -> int:
    """One pass in the connection's open transaction; returns how many entries were chained.

    With `wait`, waits for a concurrent pass to finish instead of leaving the work to it.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL application_name = '{SEQUENCER_APPLICATION_NAME}'"))
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        acquired = connection.execute(text(f"SELECT {lock}(:key)::text"), {"key": SEQUENCER_LOCK_KEY}).scalar()
        if acquired == "false":
            return 0
    head = connection.execute(select(_head).where(_head.c.id == HEAD_ID).with_for_update()).one()
    horizon = committed_horizon(connection)
    statement = (
        select(_log)
        .where(tuple_(_log.c.txid, _log.c.id) > tuple_(head.last_txid, head.last_entry_id))
        .order_by(_log.c.txid, _log.c.id)
        .limit(limit)
    )
    if horizon is not None:
        statement = statement.where(_log.c.txid < horizon)
    rows = connection.execute(statement).mappings().all()
    if not rows and head.tree_size == head.seq:
        return 0
    seq, prev_hash = head.seq, head.hash
    links: list[dict[str, Any]] = []
    for row in rows:
        seq += 1
        digest = entry_hash({**row, "seq": seq, "prev_hash": prev_hash})
        links.append({"seq": seq, "entry_id": row["id"], "prev_hash": prev_hash, "hash": digest, "at": row["at"]})
        prev_hash = digest
    if links:
        connection.execute(insert(_chain), links)
    # The Merkle tree grows in the same transaction: a leaf is in the tree once it is chained.
    tree_size = extend_tree(connection, head.tree_size, head.seq, [link["hash"] for link in links])
    values: dict[str, Any] = {"tree_size": tree_size}
    if rows:
        values.update(seq=seq, hash=prev_hash, last_txid=rows[-1]["txid"], last_entry_id=rows[-1]["id"])
    if rows or tree_size != head.tree_size:
        connection.execute(update(_head).where(_head.c.id == HEAD_ID).values(**values))
    return len(rows)


def unchained_visible(connection: Connection) -> bool:
    """Whether a committed entry is waiting for its place in the chain."""
    head = connection.execute(select(_head.c.last_txid, _head.c.last_entry_id).where(_head.c.id == HEAD_ID)).one()
    waiting = connection.execute(
        select(_log.c.id).where(tuple_(_log.c.txid, _log.c.id) > tuple_(head.last_txid, head.last_entry_id)).limit(1)
    ).first()
    return waiting is not None


class Sequencer:
    """Runs chaining passes in one process: when nudged after a commit, and every second."""

    IDLE_SECONDS = 1.0
    MIN_INTERVAL_SECONDS = 0.1

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(sqlite_write=True)
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    async def run_once(self, *, wait: bool = False) -> int:
        """Chain everything committed so far (in batches); returns how many entries it chained."""
        total = 0
        while True:
            async with self._engine.begin() as connection:
                chained = await connection.run_sync(lambda sync: chain_pending(sync, wait=wait))
            total += chained
            if chained < BATCH_ENTRIES:
                return total

    async def catch_up(self, timeout: float = CATCH_UP_SECONDS) -> None:
        """Chain every entry committed before this call, waiting (briefly) for older transactions
        still running to finish first — so that an entry is readable once its response is sent."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            await self.run_once(wait=True)
            async with self._engine.connect() as connection:
                behind = await connection.run_sync(unchained_visible)
            if not behind or asyncio.get_running_loop().time() >= deadline:
                return
            await asyncio.sleep(0.01)

    def nudge(self) -> None:
        """Ask for a pass soon (after a commit that added entries). Starts the loop if needed."""
        if self._closing:
            return
        loop = asyncio.get_running_loop()
        if self._task is None or self._loop is not loop or self._task.done():
            self._loop = loop
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="access-log-sequencer")
        assert self._wake is not None
        self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closing:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.IDLE_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.run_once()
            except Exception as error:  # the next pass retries; entries stay safe meanwhile
                logger.warning("sequencer pass failed: %s", describe_error(error))
                await asyncio.sleep(self.IDLE_SECONDS)
            # Under load, many commits nudge at once: one pass per interval serves them all.
            # Readers of the log never wait for this: they chain what they need (catch_up).
            await asyncio.sleep(self.MIN_INTERVAL_SECONDS)

    async def close(self) -> None:
        self._closing = True
        if self._task is not None and not self._task.done():
            if self._wake is not None:
                self._wake.set()
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
