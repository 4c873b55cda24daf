"""Webhook subscriptions: each client manages its own; each starts at the current end of its feed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound, SubscriptionLimitReached, unprocessable
from app.events.allowlist import url_problem
from app.events.feed import SUBSCRIPTION_IS_BEHIND
from app.events.rotation import rotate
from app.events.secret_box import seal
from app.events.signing import new_webhook_secret
from app.models.agency import Client
from app.models.base import table_of, utcnow
from app.models.event import Delivery, EventRecipient, Subscription
from app.schemas.event import SubscriptionCreate
from app.security.caller import Caller
from app.settings import Settings

_subscriptions = table_of(Subscription)
_deliveries = table_of(Delivery)
_recipients = table_of(EventRecipient)
_clients = table_of(Client)


async def _feed_end(session: AsyncSession, agency_id: str) -> tuple[int, int]:
    last = (
        await session.execute(
            select(_recipients.c.txid, _recipients.c.event_pk)
            .where(_recipients.c.agency_id == agency_id)
            .order_by(_recipients.c.txid.desc(), _recipients.c.event_pk.desc())
            .limit(1)
        )
    ).first()
    return (int(last[0]), int(last[1])) if last is not None else (-1, 0)


async def subscribe(
    session: AsyncSession, caller: Caller, data: SubscriptionCreate, settings: Settings
) -> tuple[Subscription, str]:
    """A new subscription and its secret (shown once). Its URL must be in the allowlist."""
    problem = url_problem(data.url, settings.webhook_allowlist_entries)
    if problem:
        raise unprocessable(["body", "url"], problem)
    await _ensure_below_limit(session, caller.client_id, settings.webhook_subscriptions_per_client)
    secret = new_webhook_secret()
    position = await _feed_end(session, caller.agency_id)
    subscription = Subscription(
        client_id=caller.client_id,
        agency_id=caller.agency_id,
        url=data.url,
        event_types=[event_type.value for event_type in data.event_types],
        secret_ciphertext=seal(settings.secrets_key_file, secret),
        position_txid=position[0],
        position_event_pk=position[1],
        next_attempt_at=utcnow(),
    )
    session.add(subscription)
    await session.flush()
    return subscription, secret


async def _ensure_below_limit(session: AsyncSession, client_id: str, limit: int) -> None:
    """409 when the client already has `limit` subscriptions (disabled ones count until deleted)."""
    # The client's row is locked first (PostgreSQL; SQLite has one writer), so two concurrent
    # subscribes of one client cannot both slip under the limit.
    await session.execute(select(_clients.c.client_id).where(_clients.c.client_id == client_id).with_for_update())
    held = (
        await session.execute(
            select(func.count())
            .select_from(_subscriptions)
            .where(_subscriptions.c.client_id == client_id, _subscriptions.c.deleted_at.is_(None))
        )
    ).scalar_one()
    if held >= limit:
        raise SubscriptionLimitReached(
            f"This client already has {held} subscriptions, the most allowed ({limit}); delete one first."
        )


async def disable_subscriptions_of(session: AsyncSession, client_id: str) -> int:
    """Disable every active subscription of a (revoked) client; returns how many."""
    result = await session.execute(
        update(_subscriptions)
        .where(_subscriptions.c.client_id == client_id, _subscriptions.c.status == "active")
        .values(status="disabled")
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def own_subscription(session: AsyncSession, caller: Caller, subscription_id: uuid.UUID) -> Subscription:
    """The caller's own, undeleted subscription; any other is 404."""
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None or subscription.client_id != caller.client_id or subscription.deleted_at is not None:
        raise NotFound("There is no such subscription.")
    return subscription


async def list_subscriptions(
    session: AsyncSession, caller: Caller, after: tuple[object, uuid.UUID] | None, limit: int
) -> list[Subscription]:
    statement = (
        select(Subscription)
        .where(_subscriptions.c.client_id == caller.client_id, _subscriptions.c.deleted_at.is_(None))
        .order_by(_subscriptions.c.created_at, _subscriptions.c.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(tuple_(_subscriptions.c.created_at, _subscriptions.c.id) > tuple_(*after))
    return list((await session.execute(statement)).scalars().all())


async def unsubscribe(session: AsyncSession, caller: Caller, subscription_id: uuid.UUID) -> None:
    subscription = await own_subscription(session, caller, subscription_id)
    subscription.deleted_at = utcnow()
    subscription.status = "deleted"
    await session.flush()


async def rotate_secret(
    session: AsyncSession, caller: Caller, subscription_id: uuid.UUID, settings: Settings
) -> tuple[Subscription, str, datetime]:
    """A new secret for the caller's own subscription (shown once) and when the old one stops signing."""
    subscription = await own_subscription(session, caller, subscription_id)
    secret, expires = rotate(subscription, settings.secrets_key_file, settings.webhook_secret_grace_seconds, utcnow())
    await session.flush()
    return subscription, secret, expires


async def deliveries_of(
    session: AsyncSession, subscription: Subscription, after: int | None, limit: int
) -> list[Delivery]:
    statement = (
        select(Delivery).where(_deliveries.c.subscription_id == subscription.id).order_by(_deliveries.c.id).limit(limit)
    )
    if after is not None:
        statement = statement.where(_deliveries.c.id > after)
    return list((await session.execute(statement)).scalars().all())


async def pending_count(session: AsyncSession) -> int:
    """Active subscriptions with undelivered events (the metrics gauge)."""
    behind = (
        select(func.count())
        .select_from(_subscriptions)
        .where(_subscriptions.c.status == "active", SUBSCRIPTION_IS_BEHIND)
    )
    return int((await session.execute(behind)).scalar_one())
