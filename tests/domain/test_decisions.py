"""Feedback to the one who reported: the decision on a mandatory report, its deadline and the
overdue notice — and reasons that stay with the agency that wrote them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import Database, create_api_engine
from app.services.decisions import publish_overdue_decisions
from app.settings import Settings
from tests.support import Domain, World, in_days, iso

PROBLEM = "urn:samhandling:problem:"
REASON = "Utredning inleds enligt 11 kap. 1 § SoL; uppgifter från BUP om pappan."


@pytest.fixture
def scene(world: World, domain: Domain) -> dict[str, str]:
    school, social = world.agency("school"), world.agency("social_services")
    child = domain.child(school)
    concern = domain.concern(school, child, report_to_agency_id=social)["id"]
    return {"school": school, "social": social, "child": child, "concern": concern}


def decide(client: TestClient, world: World, agency: str, concern: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/concerns/{concern}/decision",
        json={"decision": "investigation_opened", **body},
        headers=world.headers(agency),
    )


def change_status(client: TestClient, world: World, agency: str, concern: str, status: str, reason: str | None) -> Any:
    url = f"/api/v1/concerns/{concern}"
    headers = world.headers(agency)
    etag = client.get(url, headers=headers).headers["etag"]
    body = {"status": status, **({"status_reason": reason} if reason else {})}
    response = client.patch(url, json=body, headers={**headers, "If-Match": etag})
    assert response.status_code == 200, response.text
    return response.json()


def read(client: TestClient, world: World, agency: str, concern: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/concerns/{concern}", headers=world.headers(agency))
    assert response.status_code == 200, response.text
    return dict(response.json())


def events_of(client: TestClient, world: World, agency: str, record_id: str) -> list[str]:
    types: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"after": cursor} if cursor else {})}
        page = client.get("/api/v1/events", params=params, headers=world.headers(agency)).json()
        types += [event["type"] for event in page["items"] if event["record_id"] == record_id]
        if not page["items"]:
            return types
        cursor = page["next_cursor"]


def overdue_pass(settings: Settings, now: datetime) -> int:
    async def run() -> int:
        database = Database(create_api_engine(settings))
        try:
            return await publish_overdue_decisions(database, now=now)
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_the_reporter_sees_the_code_and_date_but_not_social_services_reasons(
    client: TestClient, world: World, scene: dict[str, str]
) -> None:
    school, social, concern = scene["school"], scene["social"], scene["concern"]
    before = read(client, world, school, concern)
    assert before["decision"] is None
    created = datetime.fromisoformat(before["created_at"])
    assert datetime.fromisoformat(before["decision_due_at"]) == created + timedelta(days=14)

    change_status(client, world, social, concern, "accepted", REASON)
    decided_at = iso(created)  # the earliest it may be: when the report was received
    response = decide(client, world, social, concern, decided_at=decided_at)
    assert response.status_code == 200, response.text
    assert response.headers["etag"]

    seen = read(client, world, school, concern)
    assert seen["decision"] == {
        "decision": "investigation_opened",
        "decided_at": seen["decision"]["decided_at"],
        "agency_id": social,
    }
    assert datetime.fromisoformat(seen["decision"]["decided_at"]) == datetime.fromisoformat(decided_at)
    assert seen["status"] == "accepted"
    assert seen["status_reason"] is None
    assert [(item["status"], item["agency_id"], item["reason"]) for item in seen["status_history"]] == [
        ("received", school, None),
        ("accepted", social, None),
    ]
    assert REASON not in repr(seen)
    for item in seen["status_history"]:
        assert set(item) == {"status", "from_status", "reason", "at", "changed_at", "agency_id"}
        assert item["at"] == item["changed_at"]
    listed = client.get("/api/v1/concerns", params={"child_id": scene["child"]}, headers=world.headers(school))
    assert listed.json()["items"] == [seen]
    # Social services reads its own words.
    own = read(client, world, social, concern)
    assert own["status_reason"] == REASON
    assert own["status_history"][1]["reason"] == REASON


def test_a_reason_is_readable_only_with_a_consent_the_writers_agency_confirmed(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, concern, child = scene["school"], scene["social"], scene["concern"], scene["child"]
    change_status(client, world, social, concern, "accepted", REASON)
    # The school records a consent itself: social services has not decided to disclose.
    consent = domain.consent(school, child, [school, social])
    assert read(client, world, school, concern)["status_reason"] is None
    # A consent social services confirmed, but covering something else, opens nothing either.
    other = domain.shared_consent(school, child, [school, social], ("teams",))
    assert read(client, world, school, concern)["status_reason"] is None
    domain.confirm(social, consent["id"])
    assert read(client, world, school, concern)["status_reason"] == REASON
    domain.withdraw(school, consent["id"])
    assert read(client, world, school, concern)["status_reason"] is None
    assert other["id"]


def test_the_raisers_reasons_stay_with_it_too(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, concern = scene["school"], scene["social"], scene["concern"]
    change_status(client, world, school, concern, "cancelled", "Eleven har flyttat; familjen vill inte.")
    seen = read(client, world, social, concern)
    assert seen["status"] == "cancelled"
    assert seen["status_reason"] is None
    assert read(client, world, school, concern)["status_reason"] == "Eleven har flyttat; familjen vill inte."


def test_a_third_agency_with_consent_from_the_raiser_only_gets_no_reasons_of_social_services(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, concern, child = scene["school"], scene["social"], scene["concern"], scene["child"]
    health = world.agency("health_care")
    change_status(client, world, social, concern, "accepted", REASON)
    domain.shared_consent(school, child, [school, health])  # the school discloses its concern
    seen = read(client, world, health, concern)
    assert seen["status_reason"] is None
    assert seen["decision"] is None
    decide(client, world, social, concern)
    assert read(client, world, health, concern)["decision"]["decision"] == "investigation_opened"


def test_client_ids_of_old_history_entries_are_never_shown(
    client: TestClient, world: World, scene: dict[str, str]
) -> None:
    school, concern = scene["school"], scene["concern"]
    credentials = world.client(school)
    history = (
        '[{"status": "received", "from_status": null, "reason": null, '
        f'"changed_at": "2026-11-20T08:00:00+00:00", "agency_id": "{school}", "client_id": "{credentials.client_id}"}}]'
    )
    if world.settings.database_url.startswith("sqlite"):  # uuids are 32 hex digits there
        statement, concern_id = "UPDATE concerns SET status_history = :history WHERE id = :id", concern.replace("-", "")
    else:
        statement = "UPDATE concerns SET status_history = CAST(:history AS json) WHERE id = CAST(:id AS uuid)"
        concern_id = concern
    world.sql_write(statement, history=history, id=concern_id)
    seen = read(client, world, school, concern)
    assert credentials.client_id not in repr(seen)
    assert seen["status_history"][0]["agency_id"] == school


def test_only_the_reported_to_agency_decides(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, concern, child = scene["school"], scene["social"], scene["concern"], scene["child"]
    health, other_social, police = world.agency("health_care"), world.agency("social_services"), world.agency("police")
    domain.shared_consent(school, child, [school, health])  # health may see the concern, not decide it
    assert decide(client, world, school, concern).status_code == 403
    assert decide(client, world, health, concern).status_code == 403
    assert decide(client, world, other_social, concern).status_code == 404
    assert decide(client, world, police, concern).status_code == 404
    reader = world.token(world.client(social), "concerns:read")
    narrow = client.post(
        f"/api/v1/concerns/{concern}/decision",
        json={"decision": "not_opened"},
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert narrow.status_code == 403
    assert narrow.json()["type"] == PROBLEM + "insufficient-scope"
    assert read(client, world, school, concern)["decision"] is None
    assert decide(client, world, social, concern).status_code == 200
    statuses = world.sql("SELECT status_code, outcome FROM access_log WHERE action = 'concerns-decide' ORDER BY id")
    assert [(row.status_code, row.outcome) for row in statuses] == [
        (403, "denied"),
        (403, "denied"),
        (404, "denied"),
        (404, "denied"),
        (403, "denied"),
        (200, "allowed"),
    ]


def test_a_second_decision_and_one_on_a_plain_concern_are_409(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, concern, child = scene["school"], scene["social"], scene["concern"], scene["child"]
    assert decide(client, world, social, concern, decision="already_ongoing").status_code == 200
    second = decide(client, world, social, concern, decision="not_opened")
    assert second.status_code == 409
    assert second.json()["type"] == PROBLEM + "decision-already-recorded"
    assert read(client, world, school, concern)["decision"]["decision"] == "already_ongoing"
    plain = domain.concern(school, child)
    assert plain["decision_due_at"] is None
    refused = decide(client, world, school, plain["id"])
    assert refused.status_code == 409
    assert refused.json()["type"] == PROBLEM + "not-a-mandatory-report"


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "maybe"},
        {},
        {"decision": "not_opened", "decided_at": in_days(1)},
        {"decision": "not_opened", "decided_at": in_days(-3)},
        {"decision": "not_opened", "decided_at": "last tuesday"},
        {"decision": "not_opened", "reason": "Ingen grund."},
    ],
)
def test_an_invalid_decision_is_422(
    client: TestClient, world: World, scene: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.post(
        f"/api/v1/concerns/{scene['concern']}/decision", json=body, headers=world.headers(scene["social"])
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_decision_is_announced_to_the_agencies_that_see_the_concern(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, concern = scene["school"], scene["social"], scene["concern"]
    stranger = world.agency("school")
    decide(client, world, social, concern)
    for agency in (school, social):
        assert "concern.decision_recorded" in events_of(client, world, agency, concern)
    assert events_of(client, world, stranger, concern) == []


def test_the_overdue_notice_goes_once_to_social_services_when_the_deadline_passes(
    client: TestClient, world: World, domain: Domain, settings: Settings, scene: dict[str, str]
) -> None:
    school, social, concern, child = scene["school"], scene["social"], scene["concern"], scene["child"]
    decided = domain.concern(school, child, report_to_agency_id=social)["id"]
    decide(client, world, social, decided)
    due = datetime.fromisoformat(read(client, world, school, concern)["decision_due_at"])

    assert overdue_pass(settings, due - timedelta(seconds=1)) == 0
    assert overdue_pass(settings, due + timedelta(seconds=1)) == 1
    assert overdue_pass(settings, due + timedelta(days=3)) == 0
    assert events_of(client, world, social, concern).count("concern.decision_overdue") == 1
    assert "concern.decision_overdue" not in events_of(client, world, school, concern)
    assert "concern.decision_overdue" not in events_of(client, world, social, decided)
    # A decision recorded late is still a decision; the notice is not repeated.
    assert decide(client, world, social, concern).status_code == 200
    assert overdue_pass(settings, due + timedelta(days=30)) == 0
