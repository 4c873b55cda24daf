"""Rotating a webhook secret: both secrets sign during the grace period, only the new one after."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.audit.sequencer import Sequencer
from app.db import Database, create_api_engine
from app.events.delivery import Deliverer
from app.settings import Settings
from tests.events.conftest import Receiver
from tests.events.test_webhooks import signature_is_valid, subscribe
from tests.support import Domain, World


def rotate(client: TestClient, world: World, agency: str, subscription_id: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/subscriptions/{subscription_id}/rotate-secret", headers=world.headers(agency))
    assert response.status_code == 200, response.text
    return dict(response.json())


def deliver_once(settings: Settings, clock: Callable[[], datetime]) -> None:
    """One worker pass in this process, judging secret validity by `clock`."""

    async def run() -> None:
        database = Database(create_api_engine(settings))
        try:
            await Sequencer(database.engine).run_once()
            async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
                deliverer = Deliverer(database, settings, "rotation-test", http, clock=clock)
                subscription = await deliverer.claim()
                assert subscription is not None, "nothing was due"
                await deliverer.work(subscription)
        finally:
            await database.dispose()

    asyncio.run(run())


def test_both_secrets_sign_during_the_grace_and_only_the_new_one_after(
    client: TestClient, world: World, domain: Domain, settings: Settings, receiver: Receiver
) -> None:
    school = world.agency("school")
    subscription = subscribe(client, world, school, receiver.url, ["concern.received"])
    old = subscription["secret"]
    rotated = rotate(client, world, school, subscription["id"])
    new = rotated["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert {"id", "url", "event_types", "status", "created_at"} <= set(rotated)
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    child = domain.child(school)

    domain.concern(school, child)
    deliver_once(settings, clock=lambda: expires - timedelta(seconds=1))
    receiver.wait_for(lambda r: len(r.successes()) == 1)
    during = receiver.successes()[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert signature_is_valid(old, during.headers, during.body)
    assert signature_is_valid(new, during.headers, during.body)

    domain.concern(school, child)
    deliver_once(settings, clock=lambda: expires)
    receiver.wait_for(lambda r: len(r.successes()) == 2)
    after = receiver.successes()[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert signature_is_valid(new, after.headers, after.body)
    assert not signature_is_valid(old, after.headers, after.body)


def test_the_grace_is_a_setting_and_the_secret_is_never_shown_again(
    client: TestClient, world: World, receiver: Receiver
) -> None:
    school = world.agency("school")
    subscription = subscribe(client, world, school, receiver.url, ["concern.received"])
    rotated = rotate(client, world, school, subscription["id"])
    created = datetime.fromisoformat(subscription["created_at"])
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - created < timedelta(hours=24, minutes=1)  # the default
    shown = client.get(f"/api/v1/subscriptions/{subscription['id']}", headers=world.headers(school)).json()
    assert "secret" not in shown
    stored = world.sql("SELECT secret_ciphertext, previous_secret_ciphertext FROM subscriptions")
    assert all(rotated["secret"] not in row[0] and subscription["secret"] not in row[1] for row in stored)


def test_another_clients_subscription_is_404_and_the_scope_is_needed(
    client: TestClient, world: World, receiver: Receiver
) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    subscription = subscribe(client, world, school, receiver.url, ["concern.received"])
    path = f"/api/v1/subscriptions/{subscription['id']}/rotate-secret"
    assert client.post(path, headers=world.headers(social)).status_code == 404
    reader = world.token(world.client(school), scope="events:read")
    refused = client.post(path, headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403, refused.text
    assert client.post(path, headers=world.agency_admin(school)).status_code == 403  # no events:manage
    assert client.post(path, headers=world.headers(school)).status_code == 200
    logged = {row[0] for row in world.sql("SELECT status_code FROM access_log WHERE route LIKE '%rotate-secret'")}
    assert {200, 404} <= logged  # logged like every request
