"""`samhandling worker`: webhook delivery and the schedules (consent expiry, overdue decisions,
plan reviews due, chaining, cleanup, and once a day retention).

Several workers may run at once: each subscription is leased by one at a time, a consent's
expiry is published once (its notice row's primary key), and chaining passes take turns.
SIGTERM or SIGINT stops the worker gracefully: it stops claiming and starts no further delivery;
the attempts in hand (and a maintenance pass in progress) get
`SAMHANDLING_WORKER_SHUTDOWN_GRACE_SECONDS` to finish, then the worker gives its leases back and
exits (app/events/delivery.py: nothing delivered is left unmarked, nothing unmarked is lost).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import time
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select

from app.audit.partitions import ensure_log_partitions
from app.audit.sequencer import Sequencer
from app.db import Database, create_api_engine, insert_ignoring_conflict
from app.enums import EventType
from app.events.delivery import Deliverer
from app.models.base import table_of, utcnow
from app.models.consent import Consent, ConsentWithdrawal
from app.models.event import ConsentExpiration
from app.models.idempotency import IdempotencyRecord
from app.observability import EVENTS_PENDING, describe_error
from app.ops.retention import LOG_KEY, retention_configured, run_retention
from app.security.login_throttle import forget_old_attempts
from app.services.consents import publish_consent_event
from app.services.decisions import publish_overdue_decisions
from app.services.plan_schedule import publish_due_reviews
from app.services.subscriptions import pending_count
from app.settings import Settings

logger = logging.getLogger("samhandling.worker")

MAINTENANCE_SECONDS = 15.0
# Retention runs once a day per worker (and at its start): records are kept for days or years,
# so a day late is nothing, and several workers purging at once take different rows.
RETENTION_SECONDS = 24 * 3600.0
# Months are created three ahead (app/audit/partitions.py): once a day is plenty, and a day
# missed (the lock not granted in time) is caught up the next.
PARTITIONS_SECONDS = 24 * 3600.0
IDEMPOTENCY_RETENTION = timedelta(hours=24)
_consents = table_of(Consent)
_withdrawals = table_of(ConsentWithdrawal)
_expirations = table_of(ConsentExpiration)
_keys = table_of(IdempotencyRecord)


async def publish_expirations(database: Database, limit: int = 100) -> int:
    """`consent.expired`, once per consent, when its window has ended (not on withdrawn ones)."""
    now = utcnow()
    published = 0
    async with database.write_session() as session:
        expired = (
            await session.execute(
                select(Consent)
                .where(
                    _consents.c.valid_until <= now,
                    ~select(_withdrawals.c.consent_id).where(_withdrawals.c.consent_id == _consents.c.id).exists(),
                    ~select(_expirations.c.consent_id).where(_expirations.c.consent_id == _consents.c.id).exists(),
                )
                .limit(limit)
            )
        ).scalars()
        dialect = session.get_bind().dialect.name
        for consent in list(expired):
            noticed = await session.execute(
                insert_ignoring_conflict(dialect, _expirations, "consent_id")
                .values(consent_id=consent.id, noticed_at=now)
                .returning(_expirations.c.consent_id)
            )
            if noticed.first() is not None:  # another worker may have been first
                await publish_consent_event(session, EventType.consent_expired, consent, None)
                published += 1
        await session.commit()
    return published


async def forget_old_idempotency_keys(database: Database) -> None:
    async with database.write_session() as session:
        await session.execute(delete(_keys).where(_keys.c.created_at < utcnow() - IDEMPOTENCY_RETENTION))
        await session.commit()


async def maintain(database: Database, sequencer: Sequencer) -> None:
    expired = await publish_expirations(database)
    if expired:
        logger.info("published %d consent expiries", expired)
    due = await publish_due_reviews(database)
    if due:
        logger.info("published %d plan reviews due", due)
    overdue = await publish_overdue_decisions(database)
    if overdue:
        logger.info("published %d overdue decisions", overdue)
    await forget_old_idempotency_keys(database)
    await forget_old_attempts(database.engine)
    await sequencer.run_once()
    async with database.read_session() as session:
        EVENTS_PENDING.set(await pending_count(session))


async def purge_past_retention(database: Database, settings: Settings, worker_id: str) -> None:
    if not retention_configured(settings):
        return  # the default keeps everything: no run, no log entry
    outcome = await run_retention(database, settings, f"worker:{worker_id}"[:128])
    purged = {kind: count for kind, count in outcome.items() if isinstance(count, int) and count}
    if purged:
        logger.info("retention purged %s", purged)
    log = outcome.get(LOG_KEY)
    if isinstance(log, dict) and log.get("dropped"):
        logger.info("retention dropped the log's months %s", [month["partition"] for month in log["dropped"]])


async def ensure_partitions(database: Database) -> None:
    async with database.engine.begin() as connection:
        created = await connection.run_sync(lambda sync: ensure_log_partitions(sync, utcnow()))
    if created:
        logger.info("created log partitions %s", ", ".join(created))


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    database = Database(create_api_engine(settings))
    sequencer = Sequencer(database.engine)
    worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"[:64]
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    logger.info("worker %s started", worker_id)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as http:
        deliverer = Deliverer(database, settings, worker_id, http, stop=stop)
        grace = settings.worker_shutdown_grace_seconds
        # The deliveries in hand start their grace the moment the stop signal comes, also
        # while this loop is busy with a maintenance pass, which gets the same grace.
        draining = asyncio.create_task(_drain_when_stopped(deliverer, stop, grace))
        last_maintenance = 0.0
        last_partitions = -math.inf
        last_retention: float | None = None
        while not stop.is_set():
            deliverer.slot_freed.clear()
            try:
                if time.monotonic() - last_partitions >= PARTITIONS_SECONDS:
                    # Should this pass fail, the next try comes with the maintenance, not at once.
                    last_partitions = time.monotonic() - PARTITIONS_SECONDS + MAINTENANCE_SECONDS
                    await _within_grace_of_stop(ensure_partitions(database), stop, grace)
                    last_partitions = time.monotonic()
                if time.monotonic() - last_maintenance >= MAINTENANCE_SECONDS:
                    await _within_grace_of_stop(maintain(database, sequencer), stop, grace)
                    last_maintenance = time.monotonic()
                if last_retention is None or time.monotonic() - last_retention >= RETENTION_SECONDS:
                    # Marked before it runs: a failing purge is tried again tomorrow, not every poll.
                    last_retention = time.monotonic()
                    await purge_past_retention(database, settings, worker_id)
                await deliverer.start_due()
            except Exception as error:  # e.g. the database is down: wait and try again
                logger.warning("worker pass failed: %s", describe_error(error))
            # Until a delivery task frees its slot (its subscription may have more), new events
            # may be due (the poll), or the worker is told to stop.
            await _first_of(stop, deliverer.slot_freed, timeout=settings.worker_poll_seconds)
        await draining
    await database.dispose()
    logger.info("worker %s stopped", worker_id)


async def _drain_when_stopped(deliverer: Deliverer, stop: asyncio.Event, grace: float) -> None:
    await stop.wait()
    await deliverer.drain(grace)


async def _within_grace_of_stop(work: Coroutine[Any, Any, None], stop: asyncio.Event, grace: float) -> None:
    """Run `work`; once `stop` is set it has `grace` seconds more, then it is cancelled.

    A maintenance pass can run long (the sequencer catching up on a backlog of entries), and
    each of its steps is one transaction: a cancelled step rolls back and is done again by the
    next worker, so nothing is half-done.
    """
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=grace)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            logger.info("maintenance pass cut short by the shutdown")
            await asyncio.wait({task}, timeout=1.0)
    if task.done() and not task.cancelled():
        task.result()  # its failure is the pass's failure (logged by the loop)


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def main(settings: Settings) -> None:
    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(run())
