"""The pull feed: the agency's events in commit order, resumable, only about what it may see."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from tests.support import Domain, World


def feed(client: TestClient, headers: dict[str, str], after: str | None = None, **params: str | int) -> dict[str, Any]:
    query = {**params, **({"after": after} if after else {})}
    response = client.get("/api/v1/events", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def all_events(client: TestClient, headers: dict[str, str], *, clients: bool = False) -> list[dict[str, Any]]:
    """Every event in the feed — about children only, unless `clients` (client.created when the
    test made the agency's clients, tests/test_admin.py covers those)."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = feed(client, headers, cursor, limit=2)
        events += page["items"]
        assert page["next_cursor"]
        if not page["items"]:
            return [event for event in events if clients or event["record_type"] != "client"]
        cursor = page["next_cursor"]


def test_the_feed_pages_in_commit_order_and_resumes_from_any_cursor(
    client: TestClient, world: World, domain: Domain
) -> None:
    school = world.agency("school")
    headers = world.headers(school)
    child = domain.child(school)
    concerns = [domain.concern(school, child)["id"] for _ in range(3)]
    events = all_events(client, headers, clients=True)
    assert [(event["type"], event["record_id"]) for event in events if event["record_type"] != "client"] == [
        *[("concern.received", concern) for concern in concerns],
        ("signal.raised", "concerns_accumulating"),  # the third concern tipped the rule (issue 21)
    ]
    assert set(events[0]) == {"id", "type", "occurred_at", "record_type", "record_id", "child_id", "actor_agency_id"}

    first = feed(client, headers, limit=1)
    rest = feed(client, headers, first["next_cursor"], limit=10)
    assert [event["id"] for event in first["items"] + rest["items"]] == [event["id"] for event in events]
    empty = feed(client, headers, rest["next_cursor"])
    assert empty["items"] == []
    assert empty["next_cursor"] == rest["next_cursor"]
    newer = domain.concern(school, child)
    after_empty = feed(client, headers, empty["next_cursor"])
    assert [event["record_id"] for event in after_empty["items"]] == [newer["id"]]


def test_a_tampered_or_foreign_cursor_is_422(client: TestClient, world: World, domain: Domain) -> None:
    school, other = world.agency("school"), world.agency("school")
    domain.concern(school, domain.child(school))
    cursor = feed(client, world.headers(school))["next_cursor"]
    assert (
        client.get("/api/v1/events", params={"after": cursor + "x"}, headers=world.headers(school)).status_code == 422
    )
    assert client.get("/api/v1/events", params={"after": cursor}, headers=world.headers(other)).status_code == 422


def test_an_agency_only_receives_events_about_records_it_may_see(
    client: TestClient, world: World, domain: Domain
) -> None:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    child = domain.child(school)
    hidden = domain.concern(school, child)
    consent = domain.consent(school, child, [school, social])
    visible = domain.concern(school, child)
    reported = domain.concern(school, domain.child(school), report_to_agency_id=social)

    social_events = [(event["type"], event["record_id"]) for event in all_events(client, world.headers(social))]
    assert ("concern.received", hidden["id"]) not in social_events  # raised before the consent
    assert ("consent.recorded", consent["id"]) in social_events
    assert ("concern.received", visible["id"]) in social_events
    assert ("concern.received", reported["id"]) in social_events  # a mandatory report
    assert all_events(client, world.headers(health)) == []


def test_a_withdrawal_reaches_every_agency_that_loses_access(client: TestClient, world: World, domain: Domain) -> None:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    child = domain.child(school)
    consent = domain.consent(school, child, [school, social, health], ("concerns", "teams"))
    domain.withdraw(social, consent["id"])
    for agency in (school, social, health):
        types = [(event["type"], event["record_id"]) for event in all_events(client, world.headers(agency))]
        assert ("consent.withdrawn", consent["id"]) in types


def test_every_change_publishes_its_event(client: TestClient, world: World, domain: Domain) -> None:
    school = world.agency("school")
    headers = world.headers(school)
    child = domain.child(school)
    concern = domain.concern(school, child)
    etag = client.get(f"/api/v1/concerns/{concern['id']}", headers=headers).headers["etag"]
    client.patch(
        f"/api/v1/concerns/{concern['id']}", json={"status": "accepted"}, headers={**headers, "If-Match": etag}
    )
    client.post(
        "/api/v1/assessments",
        json={"child_id": child, "perspective": "child", "areas": {"safe": {"rating": 4}}},
        headers=headers,
    )
    team = client.post("/api/v1/teams", json={"child_id": child}, headers=headers).json()["id"]
    member = client.post(
        f"/api/v1/teams/{team}/members",
        json={"agency_id": school, "role": "member", "person_name": "P"},
        headers=headers,
    ).json()["id"]
    client.delete(f"/api/v1/teams/{team}/members/{member}", headers=headers)
    client.post(f"/api/v1/teams/{team}/close", headers=headers)
    assert [event["type"] for event in all_events(client, headers)] == [
        "concern.received",
        "concern.status_changed",
        "assessment.recorded",
        "team.created",
        "team.member_added",
        "team.member_ended",
        "team.closed",
    ]


def test_long_polling_returns_as_soon_as_an_event_arrives(client: TestClient, world: World, domain: Domain) -> None:
    school = world.agency("school")
    headers = world.headers(school)
    child = domain.child(school)
    cursor = feed(client, headers)["next_cursor"]
    timer = threading.Timer(0.7, lambda: domain.concern(school, child))
    started = time.monotonic()
    timer.start()
    page = feed(client, headers, cursor, wait=10)
    timer.join()
    assert [event["type"] for event in page["items"]] == ["concern.received"]
    assert time.monotonic() - started < 8


def test_reading_the_feed_is_logged(client: TestClient, world: World, domain: Domain) -> None:
    school = world.agency("school")
    child = domain.child(school)
    domain.concern(school, child)
    client.get("/api/v1/events", headers={**world.headers(school), "X-Request-ID": "feed-read"})
    rows = world.sql("SELECT action, child_id FROM access_log WHERE request_id = 'feed-read'")
    assert [row.action for row in rows] == ["events-feed"]
