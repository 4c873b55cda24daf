"""Webhooks against a real receiver on 127.0.0.1, delivered by real worker processes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.ops.operator import operator_transaction
from app.services.clients import revoke_client
from app.settings import Settings
from tests.events.conftest import HangingReceiver, Receiver, WorkerProcess
from tests.support import Domain, World


def subscribe(client: TestClient, world: World, agency: str, url: str, types: list[str]) -> dict[str, Any]:
    response = client.post(
        "/api/v1/subscriptions", json={"url": url, "event_types": types}, headers=world.headers(agency)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def signature_is_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part == f"v1,{expected}" for part in headers["webhook-signature"].split(" "))


def test_a_mandatory_report_reaches_social_services_signed(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    subscription = subscribe(client, world, social, receiver.url, ["concern.received"])
    assert subscription["secret"].startswith("whsec_")
    concern = domain.concern(school, domain.child(school), report_to_agency_id=social, urgency="immediate")
    workers()
    receiver.wait_for(lambda r: len(r.successes()) == 1)
    delivery = receiver.successes()[0]
    assert delivery.event["record_id"] == concern["id"]
    assert delivery.event["type"] == "concern.received"
    assert signature_is_valid(subscription["secret"], delivery.headers, delivery.body)
    assert abs(int(delivery.headers["webhook-timestamp"]) - time.time()) < 60
    assert delivery.headers["webhook-id"] == delivery.event["id"]
    assert "description" not in delivery.event  # thin: never personal content


def test_a_withdrawal_reaches_every_agency_that_lost_access(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    for agency in (social, health):
        subscribe(client, world, agency, receiver.url, ["consent.withdrawn"])
    child = domain.child(school)
    consent = domain.consent(school, child, [school, social, health])
    domain.withdraw(school, consent["id"])
    workers()
    receiver.wait_for(lambda r: len(r.successes()) == 2)
    assert {item.event["type"] for item in receiver.successes()} == {"consent.withdrawn"}
    assert {item.event["record_id"] for item in receiver.successes()} == {consent["id"]}


def test_a_receiver_that_fails_three_times_gets_every_event_in_order(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    school = world.agency("school")
    subscription = subscribe(client, world, school, receiver.url, ["concern.received"])
    child = domain.child(school)
    concerns = [domain.concern(school, child)["id"] for _ in range(5)]
    receiver.fail_first = 3
    workers()
    receiver.wait_for(lambda r: len({item.headers["webhook-id"] for item in r.successes()}) == 5)
    first_success: dict[str, Any] = {}
    for item in receiver.successes():
        first_success.setdefault(item.headers["webhook-id"], item.event["record_id"])
    assert list(first_success.values()) == concerns  # every event, in order
    failed = [item for item in receiver.received if item.headers["x-answered"] == "5xx"]
    assert len(failed) == 3
    assert {item.event["record_id"] for item in failed} == {concerns[0]}  # retried, never skipped
    log = client.get(
        f"/api/v1/subscriptions/{subscription['id']}/deliveries", params={"limit": 200}, headers=world.headers(school)
    ).json()["items"]
    assert [(item["outcome"], item["attempt"]) for item in log[:4]] == [
        ("failed", 1),
        ("failed", 2),
        ("failed", 3),
        ("delivered", 4),
    ]


def test_a_worker_killed_mid_delivery_loses_nothing(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    school = world.agency("school")
    subscribe(client, world, school, receiver.url, ["concern.received"])
    child = domain.child(school)
    concerns = [domain.concern(school, child)["id"] for _ in range(8)]
    receiver.delay = 0.3
    first = workers()
    receiver.wait_for(lambda r: len(r.received) >= 2)
    first.kill()
    receiver.delay = 0.0
    workers()
    receiver.wait_for(lambda r: {item.event["record_id"] for item in r.successes()} >= set(concerns), timeout=90)
    order = list(dict.fromkeys(item.event["record_id"] for item in receiver.successes()))
    assert order == concerns


def test_two_workers_never_deliver_the_same_event_twice(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    agencies = [world.agency("school") for _ in range(3)]
    for agency in agencies:
        subscribe(client, world, agency, receiver.url, ["concern.received"])
    expected = 0
    for agency in agencies:
        child = domain.child(agency)
        for _ in range(4):
            domain.concern(agency, child)
            expected += 1
    workers()
    workers()
    receiver.wait_for(lambda r: len(r.successes()) >= expected, timeout=60)
    time.sleep(1.0)  # give a duplicate the chance to show up
    ids = [item.headers["webhook-id"] for item in receiver.received]
    assert len(ids) == len(set(ids)) == expected


def test_consent_expiry_is_published_once(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    subscribe(client, world, social, receiver.url, ["consent.expired"])
    consent = domain.past_consent(school, domain.child(school), [school, social])
    workers()
    workers()
    receiver.wait_for(lambda r: len(r.successes()) >= 1)
    time.sleep(1.0)
    assert [item.event["record_id"] for item in receiver.received] == [consent]
    assert len(world.sql("SELECT * FROM consent_expirations")) == 1


def test_subscription_urls_must_be_allowlisted(client: TestClient, world: World) -> None:
    school = world.agency("school")
    for url in ("http://10.0.0.5/hook", "http://internal.example/hook", "ftp://127.0.0.1/x", "http://u:p@127.0.0.1/"):
        response = client.post(
            "/api/v1/subscriptions",
            json={"url": url, "event_types": ["concern.received"]},
            headers=world.headers(school),
        )
        assert response.status_code == 422, url
    unknown_type = client.post(
        "/api/v1/subscriptions",
        json={"url": "http://127.0.0.1:9/h", "event_types": ["concern.deleted"]},
        headers=world.headers(school),
    )
    assert unknown_type.status_code == 422


def test_each_client_sees_and_deletes_only_its_own(client: TestClient, world: World, receiver: Receiver) -> None:
    school, other = world.agency("school"), world.agency("school")
    mine = subscribe(client, world, school, receiver.url, ["concern.received"])
    url = f"/api/v1/subscriptions/{mine['id']}"
    assert client.get(url, headers=world.headers(other)).status_code == 404
    assert client.delete(url, headers=world.headers(other)).status_code == 404
    listed = client.get("/api/v1/subscriptions", headers=world.headers(school)).json()["items"]
    assert [item["id"] for item in listed] == [mine["id"]]
    assert "secret" not in listed[0]
    assert client.get("/api/v1/subscriptions", headers=world.headers(other)).json()["items"] == []
    assert client.delete(url, headers=world.headers(school)).status_code == 204
    assert client.get(url, headers=world.headers(school)).status_code == 404


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_only_practitioners_subscribe(client: TestClient, world: World, role: str) -> None:
    headers = world.auditor() if role == "auditor" else world.admin()
    response = client.post(
        "/api/v1/subscriptions",
        json={"url": "http://127.0.0.1:9/h", "event_types": ["concern.received"]},
        headers=headers,
    )
    assert response.status_code == 403


def revoke(world: World, client_id: str) -> None:
    """Revoke as the operator does (`samhandling clients revoke`)."""

    async def run() -> None:
        async with operator_transaction(world.settings, "clients revoke") as (session, _context):
            await revoke_client(session, client_id)

    asyncio.run(run())


def subscription_status(world: World, subscription_id: str) -> str:
    statuses = {uuid.UUID(str(row.id)): row.status for row in world.sql("SELECT id, status FROM subscriptions")}
    return str(statuses[uuid.UUID(subscription_id)])


def test_revoking_a_client_disables_its_subscriptions(client: TestClient, world: World, receiver: Receiver) -> None:
    school = world.agency("school")
    subscription = subscribe(client, world, school, receiver.url, ["concern.received"])
    revoke(world, world.client(school).client_id)
    assert subscription_status(world, subscription["id"]) == "disabled"


def test_a_worker_delivers_nothing_to_a_revoked_clients_subscriptions(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    revoked = subscribe(client, world, social, receiver.url, ["concern.received"])
    subscribe(client, world, health, receiver.url, ["concern.received"])
    # Revoked behind the service's back (no revoke_client): the worker itself must notice.
    world.sql_write(
        "UPDATE clients SET revoked_at = :now WHERE client_id = :id",
        now=datetime.now(UTC),
        id=world.client(social).client_id,
    )
    domain.concern(school, domain.child(school), report_to_agency_id=social)
    health_concern = domain.concern(health, domain.child(health))
    workers()
    receiver.wait_for(lambda r: len(r.successes()) >= 1)
    time.sleep(1.0)  # give a delivery to the revoked client's receiver the chance to show up
    assert [item.event["record_id"] for item in receiver.received] == [health_concern["id"]]
    assert subscription_status(world, revoked["id"]) == "disabled"


def test_a_client_holds_at_most_the_subscription_limit(settings: Settings, world: World, receiver: Receiver) -> None:
    limited = settings.model_copy(update={"webhook_subscriptions_per_client": 3})
    with TestClient(create_app(limited)) as client:
        world = World(limited, client)
        school = world.agency("school")
        created = [subscribe(client, world, school, receiver.url, ["concern.received"]) for _ in range(3)]
        refused = client.post(
            "/api/v1/subscriptions",
            json={"url": receiver.url, "event_types": ["concern.received"]},
            headers=world.headers(school),
        )
        assert refused.status_code == 409
        assert refused.json()["type"] == "urn:samhandling:problem:subscription-limit-reached"
        other = world.agency("school")  # another client is not affected
        subscribe(client, world, other, receiver.url, ["concern.received"])
        deleted = client.delete(f"/api/v1/subscriptions/{created[0]['id']}", headers=world.headers(school))
        assert deleted.status_code == 204
        subscribe(client, world, school, receiver.url, ["concern.received"])


def test_receivers_that_never_answer_do_not_delay_another_agencys_delivery(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    hanging_receiver: HangingReceiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    slow, other = world.agency("school"), world.agency("social_services")
    for _ in range(5):
        subscribe(client, world, slow, hanging_receiver.url, ["concern.received"])
    subscribe(client, world, other, receiver.url, ["concern.received"])
    domain.concern(slow, domain.child(slow))
    workers()
    hanging_receiver.wait_for_connections(1)  # the worker is busy with a receiver that never answers
    expected = domain.concern(other, domain.child(other))["id"]
    # Delivered one after the other, the hanging ones (2 s timeout each in these tests) held it ~10 s.
    receiver.wait_for(lambda r: [item.event["record_id"] for item in r.successes()] == [expected], timeout=3.0)
