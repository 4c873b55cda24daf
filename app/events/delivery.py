"""Delivering webhooks: many subscriptions at once per worker, each one's events strictly in order.

A worker leases a due subscription (a row update, so that several workers — on PostgreSQL with
`FOR UPDATE SKIP LOCKED` — never hold the same one), reads the agency's feed from the
subscription's position and POSTs each event of the subscribed types. After every attempt it
records the attempt and, on success, the new position, in one transaction. On a failure the
subscription waits (exponential backoff with jitter) and the same event is retried next: a
receiver gets every event, in order, at least once (a crash between its 2xx and our commit
repeats one delivery, with the same `webhook-id`). A day of failures disables the subscription.

Isolation: each leased subscription is served by a task of its own, up to
`SAMHANDLING_WEBHOOK_CONCURRENCY` at once per worker and at most
`SAMHANDLING_WEBHOOK_CONCURRENCY_PER_CLIENT` leases per client across all workers, and every
attempt is bounded as a whole by the webhook timeout. So a receiver that never answers holds
only its own subscriptions' slots (serially, five such subscriptions delayed another agency's
delivery by ~24 s); others are claimed while it hangs.

A subscription whose client is revoked is disabled when a worker comes to claim it (and by the
revocation itself, app/services/clients.py); an attempt in flight at that moment is the last.

Shutdown: the worker's stop signal is looked at before every delivery, so a task finishes the
attempt in hand and gives its lease back with the position of what was delivered; the rest of its
batch stays pending for the next worker. An attempt still unanswered when the shutdown grace has
passed is abandoned without a record (neither delivered nor failed), so that event is sent
again, with the same `webhook-id`, by the next worker: an item is either delivered and marked,
or untouched.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.events.allowlist import url_problem
from app.events.feed import SUBSCRIPTION_IS_BEHIND, FeedItem, read_feed
from app.events.rotation import signing_secrets
from app.events.signing import sign_all
from app.models.agency import Client
from app.models.base import table_of, utcnow
from app.models.event import Delivery, Subscription
from app.observability import DELIVERY_FAILURES, safe_traceback
from app.services.subscriptions import disable_subscriptions_of
from app.settings import Settings

logger = logging.getLogger(__name__)

MIN_LEASE_SECONDS = 10.0
BATCH = 20
MAX_BACKOFF_SECONDS = 3600.0
# After the grace, how long the tasks get to write their lease back (one short transaction
# each); past it they are cancelled and their leases simply expire.
RELEASE_SECONDS = 2.0
_subscriptions = table_of(Subscription)
_leased = _subscriptions.alias("leased")
_clients = table_of(Client)


def event_body(item: FeedItem) -> bytes:
    event = item.event
    return orjson.dumps(
        {
            "id": str(event.event_id),
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "record_type": event.record_type,
            "record_id": event.record_id,
            "child_id": None if event.child_id is None else str(event.child_id),
            "actor_agency_id": event.actor_agency_id,
        }
    )


class Interrupted(Exception):
    """The worker is shutting down and the attempt in flight was abandoned unanswered."""


def backoff_seconds(failures: int, base: float) -> float:
    """base · 2^(failures−1), capped at an hour, ±20 % jitter so receivers are not hit in step."""
    delay = min(base * 2.0 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS)
    return delay * random.uniform(0.8, 1.2)


class Deliverer:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        worker_id: str,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] = utcnow,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.database = database
        self.clock = clock  # which secrets are valid (a rotation's grace period) is judged by it
        self.settings = settings
        self.worker_id = worker_id
        self.http = http
        # Long enough for one attempt (renewed after each), short enough that a crashed worker's
        # subscriptions are picked up again within seconds.
        self.lease = timedelta(seconds=max(MIN_LEASE_SECONDS, 3 * settings.webhook_timeout_seconds))
        self.concurrency = settings.webhook_concurrency
        # The worker's stop signal, looked at before each claim and each delivery (set by
        # SIGTERM, or by drain): finish the attempt in hand, start no more.
        self.stop = stop if stop is not None else asyncio.Event()
        # Set when the shutdown grace has passed: attempts still in flight give up.
        self._abandon = asyncio.Event()
        self.slot_freed = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    async def claim(self) -> Subscription | None:
        """Lease one due subscription with undelivered events, or None.

        A due subscription of a revoked client is not leased: all of that client's active
        subscriptions are disabled instead, and the next one is looked for.
        """
        while True:
            now = utcnow()
            async with self.database.write_session() as session:
                candidate = self._candidate(now)
                if session.get_bind().dialect.name == "postgresql":
                    candidate = candidate.with_for_update(skip_locked=True, of=_subscriptions)
                chosen = (await session.execute(candidate)).first()
                if chosen is None:
                    return None
                if chosen.revoked_at is not None:
                    disabled = await disable_subscriptions_of(session, chosen.client_id)
                    await session.commit()
                    logger.info("disabled %d subscriptions of revoked client %s", disabled, chosen.client_id)
                    continue
                await session.execute(
                    update(_subscriptions)
                    .where(_subscriptions.c.id == chosen.id)
                    .values(lease_owner=self.worker_id, lease_until=now + self.lease)
                )
                subscription = await session.get(Subscription, chosen.id)
                await session.commit()
                return subscription

    def _candidate(self, now: datetime) -> Any:
        # Clients already holding their share of leases (on any worker) wait, so that one
        # client's slow receivers cannot take every slot. Two workers claiming at once may
        # exceed the share by one each: a fairness bound, not a quota.
        busy_clients = (
            select(_leased.c.client_id)
            .where(_leased.c.lease_until > now)
            .group_by(_leased.c.client_id)
            .having(func.count() >= self.settings.webhook_concurrency_per_client)
        )
        return (
            select(_subscriptions.c.id, _subscriptions.c.client_id, _clients.c.revoked_at)
            .join(_clients, _clients.c.client_id == _subscriptions.c.client_id)
            .where(
                _subscriptions.c.status == "active",
                _subscriptions.c.next_attempt_at <= now,
                (_subscriptions.c.lease_until.is_(None)) | (_subscriptions.c.lease_until < now),
                _subscriptions.c.client_id.not_in(busy_clients),
                SUBSCRIPTION_IS_BEHIND,
            )
            .order_by(_subscriptions.c.next_attempt_at)
            .limit(1)
        )

    async def work(self, subscription: Subscription) -> None:
        """Deliver what is due for a leased subscription, then give the lease back."""
        types = frozenset(subscription.event_types)
        position = (subscription.position_txid, subscription.position_event_pk)
        next_attempt = utcnow()
        async with self.database.read_session() as session:
            items = await read_feed(session, subscription.agency_id, position, BATCH)
        # The current secret, and the previous one while its grace period lasts: each delivery
        # carries a signature per secret. A rotation during this batch applies from the next claim.
        secrets = signing_secrets(subscription, self.settings.secrets_key_file, self.clock())
        for item in items:
            if self.stopping:
                break
            if item.event.type not in types:
                position = item.position
                continue
            try:
                delivered = await self._attempt(subscription, item, secrets, position)
            except Interrupted:  # shutdown: this item stays pending, untouched
                break
            if delivered is None:  # the lease was lost: another worker owns it now
                return
            if not delivered:
                next_attempt = utcnow() + timedelta(
                    seconds=backoff_seconds(subscription.failures, self.settings.webhook_retry_base_seconds)
                )
                break
            position = item.position
        await self._release(subscription, position, next_attempt)

    async def _attempt(
        self, subscription: Subscription, item: FeedItem, secrets: list[str], position: tuple[int, int]
    ) -> bool | None:
        started = time.perf_counter()
        status_code, error = await self._post(subscription.url, item, secrets)
        delivered = error is None
        now = utcnow()
        if not delivered:
            DELIVERY_FAILURES.inc()
        attempt = Delivery(
            subscription_id=subscription.id,
            event_id=item.event.event_id,
            event_type=item.event.type,
            attempt=subscription.failures + 1,
            attempted_at=now,
            outcome="delivered" if delivered else "failed",
            status_code=status_code,
            error=error,
            duration_ms=int((time.perf_counter() - started) * 1000),
            worker=self.worker_id,
        )
        changes: dict[str, object]
        if delivered:
            changes = {
                "position_txid": item.position[0],
                "position_event_pk": item.position[1],
                "failures": 0,
                "failing_since": None,
                "lease_until": now + self.lease,
            }
        else:
            failing_since = subscription.failing_since or now
            disabled = (now - failing_since).total_seconds() >= self.settings.webhook_disable_after_seconds
            changes = {
                "failures": subscription.failures + 1,
                "failing_since": failing_since,
                "status": "disabled" if disabled else subscription.status,
                "lease_until": now + self.lease,
            }
        async with self.database.write_session() as session:
            if not await self._still_ours(session, subscription):
                return None
            session.add(attempt)
            await session.execute(
                update(_subscriptions).where(_subscriptions.c.id == subscription.id).values(**changes)
            )
            await session.commit()
        for name, value in changes.items():
            setattr(subscription, name, value)
        return delivered

    async def _still_ours(self, session: AsyncSession, subscription: Subscription) -> bool:
        """Leased by this worker, still active, and its client not revoked (else: stop here)."""
        owner = (
            await session.execute(
                select(_subscriptions.c.lease_owner, _subscriptions.c.status, _clients.c.revoked_at)
                .join(_clients, _clients.c.client_id == _subscriptions.c.client_id)
                .where(_subscriptions.c.id == subscription.id)
                .with_for_update(of=_subscriptions)
            )
        ).first()
        return (
            owner is not None
            and owner.lease_owner == self.worker_id
            and owner.status == "active"
            and owner.revoked_at is None
        )

    async def _post(self, url: str, item: FeedItem, secrets: list[str]) -> tuple[int | None, str | None]:
        problem = url_problem(url, self.settings.webhook_allowlist_entries)
        if problem:
            return None, f"not delivered: {problem}"
        body = event_body(item)
        message_id = str(item.event.event_id)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "Samhandling-Webhooks/1",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_all(secrets, message_id, timestamp, body),
        }
        timeout = self.settings.webhook_timeout_seconds
        try:
            # httpx's timeouts bound each phase (connect, each read); this bounds the whole
            # attempt, so a receiver that trickles its answer cannot hold the slot for longer.
            response = await self._unless_abandoned(self.http.post(url, content=body, headers=headers), timeout)
        except TimeoutError:
            return None, f"no answer within {timeout:g} s"
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"the receiver answered {response.status_code}"

    async def _unless_abandoned(self, request: Awaitable[httpx.Response], timeout: float) -> httpx.Response:
        """The request's answer; TimeoutError after `timeout`; Interrupted if the grace runs out first."""
        answer = asyncio.ensure_future(request)
        abandoned = asyncio.ensure_future(self._abandon.wait())
        try:
            done, _ = await asyncio.wait({answer, abandoned}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            abandoned.cancel()
            if not answer.done():
                answer.cancel()
                await asyncio.wait({answer}, timeout=1.0)  # httpx closes the connection, as under wait_for
        if answer in done:
            return answer.result()
        if abandoned in done:
            raise Interrupted
        raise TimeoutError

    async def _release(self, subscription: Subscription, position: tuple[int, int], next_attempt: datetime) -> None:
        async with self.database.write_session() as session:
            await session.execute(
                update(_subscriptions)
                .where(_subscriptions.c.id == subscription.id, _subscriptions.c.lease_owner == self.worker_id)
                .values(
                    position_txid=position[0],
                    position_event_pk=position[1],
                    next_attempt_at=next_attempt,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            await session.commit()

    # -- serving many subscriptions at once ----------------------------------------------------
    @property
    def running(self) -> int:
        return len(self._running)

    async def start_due(self) -> int:
        """Lease due subscriptions into the free slots, each served by a task of its own."""
        started = 0
        while not self.stopping and len(self._running) < self.concurrency:
            subscription = await self.claim()
            if subscription is None:
                break
            task = asyncio.create_task(self._serve(subscription), name=f"webhooks-{subscription.id}")
            self._running.add(task)
            task.add_done_callback(self._finished)
            started += 1
        return started

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self.slot_freed.set()

    async def _serve(self, subscription: Subscription) -> None:
        try:
            await self.work(subscription)
        except Exception as error:  # one receiver's trouble must not stop the others
            logger.error("delivery for subscription %s failed: %s", subscription.id, safe_traceback(error))

    async def drain(self, grace: float) -> None:
        """Shutdown: the attempts in hand get `grace` seconds to be answered and recorded.

        Then those still waiting for their receiver are abandoned (their events stay pending)
        and every task gives its lease back, so the next worker carries on at once instead of
        waiting for the leases to expire. An orchestrator's kill comes after its own grace
        (Kubernetes: 30 s), so the default grace plus the release fit well inside it.
        """
        self.stop.set()
        if not self._running:
            return
        _, unfinished = await asyncio.wait(set(self._running), timeout=grace)
        if not unfinished:
            return
        self._abandon.set()
        _, stuck = await asyncio.wait(unfinished, timeout=RELEASE_SECONDS)
        for task in stuck:  # e.g. the database does not answer: the lease expires by itself
            task.cancel()
        if stuck:
            await asyncio.wait(stuck, timeout=RELEASE_SECONDS)
