"""What changed for the caller's agency: the pull feed (`events:read`) and webhooks (`events:manage`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any

from fastapi import Query, Response, Security

from app.errors import SubscriptionLimitReached
from app.events.feed import START, FeedItem, read_feed
from app.http.deps import ContextDep, CursorsDep, DatabaseDep, SessionDep, SettingsDep
from app.http.guard import current_caller
from app.http.idempotency import IdempotencyDep
from app.http.paging import (
    DEFAULT_LIMIT,
    CreatedPaging,
    CursorParam,
    LimitParam,
    split_page,
)
from app.models.event import Delivery, Subscription
from app.routers.responses import LOCATION_HEADER, guarded_router, links, problems, success
from app.schemas.common import Page
from app.schemas.event import (
    DeliveryPublic,
    EventPage,
    EventPublic,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
    SubscriptionSecretRotated,
)
from app.security.caller import Caller
from app.services import subscriptions

router = guarded_router("events")
EventsReader = Annotated[Caller, Security(current_caller, scopes=["events:read"])]
EventsManager = Annotated[Caller, Security(current_caller, scopes=["events:manage"])]
POLL_SECONDS = 0.25


def _event(item: FeedItem) -> EventPublic:
    event = item.event
    return EventPublic(
        id=event.event_id,
        type=event.type,
        occurred_at=event.occurred_at,
        record_type=event.record_type,
        record_id=event.record_id,
        child_id=event.child_id,
        actor_agency_id=event.actor_agency_id,
    )


@router.get("/events", operation_id="events-feed", summary="The agency's event feed")
async def event_feed(
    caller: EventsReader,
    context: ContextDep,
    cursors: CursorsDep,
    settings: SettingsDep,
    database: DatabaseDep,
    after: Annotated[
        str | None, Query(max_length=2000, description="A `next_cursor` from an earlier page; omit to start.")
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    wait: Annotated[
        int,
        Query(
            ge=0,
            le=30,
            description="Long poll: wait up to this many seconds for events (the server may answer sooner).",
        ),
    ] = 0,
) -> EventPage:
    """The caller's agency's events in commit order — no gaps, no duplicates, resumable from
    any cursor. Events are thin: fetch the record through the API (which checks access and logs
    the read). `next_cursor` is never null: it is the point to resume from."""
    position: tuple[int, int] = START
    if after:
        txid, event_pk = cursors.decode(after, "events", caller.agency_id, {})
        position = (int(txid), int(event_pk))
    deadline = time.monotonic() + min(wait, settings.events_max_wait_seconds)
    while True:
        async with database.read_session() as session:  # a fresh connection per poll, none held while waiting
            items = await read_feed(session, caller.agency_id, position, limit)
        if items or time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
    context.audit_children("event", [item.event.child_id for item in items if item.event.child_id is not None])
    if items:
        position = items[-1].position
    return EventPage(
        items=[_event(item) for item in items],
        next_cursor=cursors.encode("events", caller.agency_id, {}, list(position)),
    )


def _subscription(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "event_types": subscription.event_types,
        "status": subscription.status,
        "created_at": subscription.created_at,
    }


@router.post(
    "/subscriptions",
    operation_id="events-subscribe",
    summary="Subscribe a webhook",
    status_code=201,
    responses={
        201: {
            **success("Subscribed; the secret is in this response only.", LOCATION_HEADER),
            **links(
                ("GetSubscription", "events-subscription", {"subscription_id": "$response.body#/id"}),
                ("Deliveries", "events-deliveries", {"subscription_id": "$response.body#/id"}),
                ("Unsubscribe", "events-unsubscribe", {"subscription_id": "$response.body#/id"}),
                ("RotateSecret", "events-rotate-secret", {"subscription_id": "$response.body#/id"}),
            ),
        },
        **problems(SubscriptionLimitReached),
    },
)
async def subscribe(
    data: SubscriptionCreate,
    caller: EventsManager,
    context: ContextDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    _idempotency: IdempotencyDep,
) -> SubscriptionCreated:
    """Deliver the agency's events of these types to `url` (which must be in the operator's
    allowlist; redirects are not followed). Deliveries are signed per Standard Webhooks
    (`webhook-id`, `webhook-timestamp`, `webhook-signature`), at least once, in order, retried
    with backoff; a subscription failing for a day is disabled, and so are all of a client's when
    it is revoked. A client holds at most 20 subscriptions (a setting; 409 beyond). It starts with
    the next event."""
    subscription, secret = await subscriptions.subscribe(session, caller, data, settings)
    context.audit("subscription", subscription.id)
    response.headers["Location"] = f"/api/v1/subscriptions/{subscription.id}"
    return SubscriptionCreated(**_subscription(subscription), secret=secret)


@router.get("/subscriptions", operation_id="events-subscriptions", summary="List your subscriptions")
async def list_subscriptions(
    caller: EventsManager,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[SubscriptionPublic]:
    """The calling client's own subscriptions (never their secrets)."""
    context.audit("subscription")
    paging = CreatedPaging.resume(cursors, cursor, "subscriptions", caller.client_id, {}, limit)
    rows, next_cursor = paging.cut(await subscriptions.list_subscriptions(session, caller, paging.after, paging.fetch))
    items = [SubscriptionPublic.model_validate(_subscription(row)) for row in rows]
    return Page[SubscriptionPublic](items=items, next_cursor=next_cursor)


@router.get(
    "/subscriptions/{subscription_id}",
    operation_id="events-subscription",
    summary="Get a subscription",
    responses=problems(404),
)
async def get_subscription(
    subscription_id: uuid.UUID, caller: EventsManager, context: ContextDep, session: SessionDep
) -> SubscriptionPublic:
    """One of the calling client's subscriptions; another client's is 404."""
    context.audit("subscription", subscription_id)
    subscription = await subscriptions.own_subscription(session, caller, subscription_id)
    return SubscriptionPublic.model_validate(_subscription(subscription))


@router.delete(
    "/subscriptions/{subscription_id}",
    operation_id="events-unsubscribe",
    summary="Delete a subscription",
    status_code=204,
    responses={204: success("Deleted; nothing more is delivered."), **problems(404)},
)
async def unsubscribe(
    subscription_id: uuid.UUID, caller: EventsManager, context: ContextDep, session: SessionDep
) -> Response:
    """Stop deliveries to this subscription; its delivery log is no longer served."""
    context.audit("subscription", subscription_id)
    await subscriptions.unsubscribe(session, caller, subscription_id)
    return Response(status_code=204)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    operation_id="events-rotate-secret",
    summary="Rotate a subscription's secret",
    responses={200: success("Rotated; the new secret is in this response only."), **problems(404)},
)
async def rotate_secret(
    subscription_id: uuid.UUID, caller: EventsManager, context: ContextDep, session: SessionDep, settings: SettingsDep
) -> SubscriptionSecretRotated:
    """A new secret for one of the calling client's subscriptions (another client's is 404),
    shown only here. The old secret stays valid until `previous_secret_expires_at` (24 h by
    default, SAMHANDLING_WEBHOOK_SECRET_GRACE_SECONDS): until then every delivery's
    `webhook-signature` carries two `v1,` signatures, one per secret, so switch the receiver to
    the new secret at any time within the grace period. Rotating again ends the older secret's
    grace at once (only the secret before this rotation stays valid)."""
    context.audit("subscription", subscription_id)
    subscription, secret, expires = await subscriptions.rotate_secret(session, caller, subscription_id, settings)
    return SubscriptionSecretRotated(**_subscription(subscription), secret=secret, previous_secret_expires_at=expires)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    operation_id="events-deliveries",
    summary="The subscription's delivery log",
    responses=problems(404),
)
async def deliveries(
    subscription_id: uuid.UUID,
    caller: EventsManager,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[DeliveryPublic]:
    """Every delivery attempt, oldest first: when, which event, the receiver's status or error."""
    context.audit("subscription", subscription_id)
    subscription = await subscriptions.own_subscription(session, caller, subscription_id)
    binding = {"subscription": str(subscription_id)}
    after = int(cursors.decode(cursor, "deliveries", caller.client_id, binding)[0]) if cursor else None
    rows, last = split_page(await subscriptions.deliveries_of(session, subscription, after, limit + 1), limit)
    next_cursor = cursors.encode("deliveries", caller.client_id, binding, [last.id]) if last else None
    return Page[DeliveryPublic](items=[_delivery(row) for row in rows], next_cursor=next_cursor)


def _delivery(delivery: Delivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(delivery, from_attributes=True)
