"""The consent rule, exhaustively: agencies × consent states × who recorded and confirmed it ×
operations (get, list).

A school raises a concern about a child. Who else sees it depends only on consent:
social services (named in the consent or not), a health centre (never named), under a consent
that is absent, active, pending, expired, withdrawn, naming another pair of agencies, or
covering another kind of record — recorded by the school (which holds the concern, and so
confirms by recording), or by the reading agency alone, or by the reading agency and then
confirmed by the school. Only the holder's confirmation opens the holder's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import Domain, World, in_days

CONSENT_STATES = ["none", "active", "pending", "expired", "withdrawn", "other-pair", "other-record-type"]
RECORDED_BY = ["holder", "reader", "reader-then-holder-confirmed"]


@dataclass
class Scene:
    school: str
    social: str
    health: str
    child: str
    concern_id: str


def build(domain: Domain, world: World, state: str, recorded_by: str = "holder") -> Scene:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    child = domain.child(school)
    concern = domain.concern(school, child)
    reader = health if state == "other-pair" else social
    recorder = school if recorded_by == "holder" else reader
    confirm = recorded_by == "reader-then-holder-confirmed"

    def record(agencies: list[str], record_types: tuple[str, ...] = ("concerns",), **fields: str) -> str:
        consent = domain.consent(recorder, child, agencies, record_types, **fields)
        if confirm:
            domain.confirm(school, consent["id"])
        return str(consent["id"])

    if state == "active":
        record([school, social])
    elif state == "pending":
        record([school, social], valid_from=in_days(3), valid_until=in_days(30))
    elif state == "expired":
        confirmed_by = [recorder, school] if confirm else [recorder]
        domain.past_consent(recorder, child, [school, social], confirmed_by=confirmed_by)
    elif state == "withdrawn":
        domain.withdraw(social, record([school, social]))
    elif state == "other-pair":
        record([school, health])
    elif state == "other-record-type":
        record([school, social], ("assessments", "teams"))
    return Scene(school, social, health, child, concern["id"])


EXPECTED_SOCIAL = {state: state == "active" for state in CONSENT_STATES}
EXPECTED_HEALTH = {state: state == "other-pair" for state in CONSENT_STATES}


def sees(client: TestClient, world: World, agency: str, scene: Scene) -> tuple[bool, bool]:
    """(get answers 200, list contains it) — and a hidden concern is exactly a 404."""
    headers = world.headers(agency)
    got = client.get(f"/api/v1/concerns/{scene.concern_id}", headers=headers)
    assert got.status_code in (200, 404)
    if got.status_code == 404:
        assert got.json()["title"] == "Not found"
    listed = client.get("/api/v1/concerns", params={"child_id": scene.child, "limit": 200}, headers=headers)
    assert listed.status_code == 200
    ids = [item["id"] for item in listed.json()["items"]]
    return got.status_code == 200, scene.concern_id in ids


# Without a consent nobody records or confirms one: that state appears once.
COMBINATIONS = [(state, by) for state in CONSENT_STATES for by in RECORDED_BY if state != "none" or by == "holder"]


@pytest.mark.parametrize(("state", "recorded_by"), COMBINATIONS)
def test_visibility_follows_consent_confirmed_by_the_holder(
    client: TestClient, world: World, domain: Domain, state: str, recorded_by: str
) -> None:
    scene = build(domain, world, state, recorded_by)
    holder_said_yes = recorded_by != "reader"
    assert sees(client, world, scene.school, scene) == (True, True)
    assert sees(client, world, scene.social, scene) == (EXPECTED_SOCIAL[state] and holder_said_yes,) * 2
    assert sees(client, world, scene.health, scene) == (EXPECTED_HEALTH[state] and holder_said_yes,) * 2


@pytest.mark.parametrize("state", CONSENT_STATES)
def test_a_mandatory_report_is_visible_to_social_services_whatever_the_consent(
    client: TestClient, world: World, domain: Domain, state: str
) -> None:
    scene = build(domain, world, state)
    reported = domain.concern(scene.school, scene.child, report_to_agency_id=scene.social)
    scene.concern_id = reported["id"]
    assert sees(client, world, scene.social, scene) == (True, True)
    assert sees(client, world, scene.health, scene) == (EXPECTED_HEALTH[state],) * 2


def test_a_hidden_concern_answers_exactly_like_a_missing_one(client: TestClient, world: World, domain: Domain) -> None:
    scene = build(domain, world, "none")
    hidden = client.get(f"/api/v1/concerns/{scene.concern_id}", headers=world.headers(scene.social))
    missing = client.get("/api/v1/concerns/00000000-0000-4000-8000-000000000000", headers=world.headers(scene.social))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["content-type"] == missing.headers["content-type"]

    def strip(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in ("request_id", "detail")}

    assert strip(hidden.json()) == strip(missing.json())


def test_a_denied_read_is_logged_against_the_child(client: TestClient, world: World, domain: Domain) -> None:
    scene = build(domain, world, "none")
    client.get(f"/api/v1/concerns/{scene.concern_id}", headers={**world.headers(scene.social), "X-Request-ID": "peek"})
    report = client.get(f"/api/v1/children/{scene.child}/access-report", headers=world.auditor()).json()["items"]
    peeks = [item for item in report if item["request_id"] == "peek"]
    assert [(item["agency_id"], item["outcome"], item["status_code"]) for item in peeks] == [
        (scene.social, "denied", 404)
    ]


def test_consents_are_visible_to_named_agencies_only(client: TestClient, world: World, domain: Domain) -> None:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    child = domain.child(school)
    consent = domain.consent(school, child, [school, social])
    for agency, visible in ((school, True), (social, True), (health, False)):
        response = client.get(f"/api/v1/consents/{consent['id']}", headers=world.headers(agency))
        assert response.status_code == (200 if visible else 404)
        listed = client.get("/api/v1/consents", params={"child_id": child}, headers=world.headers(agency)).json()
        assert (consent["id"] in [item["id"] for item in listed["items"]]) is visible


def test_withdrawal_ends_access_at_once_for_both_get_and_list(client: TestClient, world: World, domain: Domain) -> None:
    scene = build(domain, world, "active")
    assert sees(client, world, scene.social, scene) == (True, True)
    consent = client.get("/api/v1/consents", params={"child_id": scene.child}, headers=world.headers(scene.school))
    domain.withdraw(scene.school, consent.json()["items"][0]["id"])
    assert sees(client, world, scene.social, scene) == (False, False)
