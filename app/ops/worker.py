"""`samhandling worker`: webhook delivery and the schedules (consent expiry, overdue decisions,
plan reviews due, chaining, cleanup).

Several workers may run at once: each subscription is leased by one at a time, a consent's
expiry is published once (its notice row's primary key), and chaining passes take turns.
SIGTERM or SIGINT stops the worker gracefully: it stops claiming, finishes the deliveries in
hand and exits.
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
from datetime import timedelta

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
from app.security.login_throttle import forget_old_attempts
from app.services.consents import publish_consent_event
from app.services.decisions import publish_overdue_decisions
from app.services.plan_schedule import publish_due_reviews
from app.services.subscriptions import pending_count
from app.settings import Settings

logger = logging.getLogger("samhandling.worker")

MAINTENANCE_SECONDS = 15.0
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
        deliverer = Deliverer(database, settings, worker_id, http)
        last_maintenance = last_partitions = -math.inf
        while not stop.is_set():
            deliverer.slot_freed.clear()
            try:
                if time.monotonic() - last_partitions >= PARTITIONS_SECONDS:
                    # Should this pass fail, the next try comes with the maintenance, not at once.
                    last_partitions = time.monotonic() - PARTITIONS_SECONDS + MAINTENANCE_SECONDS
                    await ensure_partitions(database)
                    last_partitions = time.monotonic()
                if time.monotonic() - last_maintenance >= MAINTENANCE_SECONDS:
                    await maintain(database, sequencer)
                    last_maintenance = time.monotonic()
                await deliverer.start_due()
            except Exception as error:  # e.g. the database is down: wait and try again
                logger.warning("worker pass failed: %s", describe_error(error))
            # Until a delivery task frees its slot (its subscription may have more), new events
            # may be due (the poll), or the worker is told to stop.
            await _first_of(stop, deliverer.slot_freed, timeout=settings.worker_poll_seconds)
        await deliverer.drain()
    await database.dispose()
    logger.info("worker %s stopped", worker_id)


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
