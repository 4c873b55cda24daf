"""A consent opens an agency's records only once that agency has confirmed it (OSL: the holder decides).

The attack the outside review found: an agency registers a child by personnummer, records a
consent naming itself and another agency, and reads the other agency's records. Every path by
which a record leaves — get, list, compass, the event feed, a team membership — is checked here
before and after the holder's confirmation, and after withdrawal.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import Domain, World, in_days

PROBLEM = "urn:samhandling:problem:"


@pytest.fixture
def scene(world: World, domain: Domain) -> dict[str, str]:
    school, social = world.agency("school"), world.agency("social_services")
    child = domain.child(school)
    return {"school": school, "social": social, "child": child}


def visible(client: TestClient, world: World, agency: str, path: str, record_id: str, child: str) -> tuple[int, bool]:
    """(GET status, whether the list of the child's records of that kind contains it)."""
    got = client.get(f"/api/v1/{path}/{record_id}", headers=world.headers(agency)).status_code
    listed = client.get(f"/api/v1/{path}", params={"child_id": child}, headers=world.headers(agency)).json()
    return got, record_id in [item["id"] for item in listed["items"]]


def events_about(client: TestClient, world: World, agency: str, record_id: str) -> list[str]:
    types: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"after": cursor} if cursor else {})}
        page = client.get("/api/v1/events", params=params, headers=world.headers(agency)).json()
        types += [event["type"] for event in page["items"] if event["record_id"] == record_id]
        if not page["items"]:
            return types
        cursor = page["next_cursor"]


def test_recording_confirms_for_the_recorder_only(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    consent = domain.consent(scene["social"], scene["child"], [scene["school"], scene["social"]])
    parties = {party["agency_id"]: party["confirmed_at"] for party in consent["parties"]}
    assert parties[scene["social"]] is not None
    assert parties[scene["school"]] is None
    assert sorted(consent["agency_ids"]) == sorted(parties)


def test_a_self_recorded_consent_opens_nothing_of_another_agency_until_it_confirms(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    concern = domain.concern(school, child)
    assessment = client.post(
        "/api/v1/assessments",
        json={"child_id": child, "perspective": "professional", "areas": {"safe": {"rating": 2}}},
        headers=world.headers(school),
    ).json()
    # Social services records, on its own say-so, a consent naming itself and the school.
    consent = domain.consent(social, child, [school, social], ("concerns", "assessments"))
    assert visible(client, world, social, "concerns", concern["id"], child) == (404, False)
    assert visible(client, world, social, "assessments", assessment["id"], child) == (404, False)
    compass = client.get(f"/api/v1/children/{child}/compass", headers=world.headers(social)).json()
    assert compass["perspectives"] == {}
    later = domain.concern(school, child)
    assert events_about(client, world, social, later["id"]) == []

    confirmed = domain.confirm(school, consent["id"])
    assert all(party["confirmed_at"] for party in confirmed["parties"])
    assert visible(client, world, social, "concerns", concern["id"], child) == (200, True)
    assert visible(client, world, social, "assessments", assessment["id"], child) == (200, True)
    compass = client.get(f"/api/v1/children/{child}/compass", headers=world.headers(social)).json()
    assert compass["perspectives"]["professional"]["safe"]["latest"] == 2
    after = domain.concern(school, child)
    assert events_about(client, world, social, after["id"]) == ["concern.received"]

    domain.withdraw(school, consent["id"])
    assert visible(client, world, social, "concerns", concern["id"], child) == (404, False)
    assert visible(client, world, social, "assessments", assessment["id"], child) == (404, False)


def test_confirmation_opens_only_the_confirming_agencys_records(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    health = world.agency("health_care")
    consent = domain.consent(school, child, [school, social, health])
    health_concern = domain.concern(health, child)
    school_concern = domain.concern(school, child)
    assert visible(client, world, social, "concerns", school_concern["id"], child) == (200, True)  # the recorder's
    assert visible(client, world, social, "concerns", health_concern["id"], child) == (404, False)
    domain.confirm(social, consent["id"])  # social services' own records, not the health centre's
    assert visible(client, world, school, "concerns", health_concern["id"], child) == (404, False)
    domain.confirm(health, consent["id"])
    assert visible(client, world, school, "concerns", health_concern["id"], child) == (200, True)
    assert visible(client, world, social, "concerns", health_concern["id"], child) == (200, True)


def test_the_police_cannot_read_the_health_centres_concern_through_a_schools_consent(
    client: TestClient, world: World, domain: Domain
) -> None:
    """The outside review's case: Nora's school records a consent naming itself, the police and the
    health centre; the police then read the health centre's concern (404 → 200 under v1)."""
    school, police, health = world.agency("school"), world.agency("police"), world.agency("health_care")
    child = domain.child(school)
    concern = domain.concern(health, child)
    consent = domain.consent(school, child, [school, police, health])
    assert visible(client, world, police, "concerns", concern["id"], child) == (404, False)
    domain.confirm(health, consent["id"])
    assert visible(client, world, police, "concerns", concern["id"], child) == (200, True)


def test_a_second_confirmation_is_409(client: TestClient, world: World, domain: Domain, scene: dict[str, str]) -> None:
    consent = domain.consent(scene["social"], scene["child"], [scene["school"], scene["social"]])
    domain.confirm(scene["school"], consent["id"])
    again = client.post(f"/api/v1/consents/{consent['id']}/confirm", headers=world.headers(scene["school"]))
    assert again.status_code == 409
    assert again.json()["type"] == PROBLEM + "consent-already-confirmed"
    recorder = client.post(f"/api/v1/consents/{consent['id']}/confirm", headers=world.headers(scene["social"]))
    assert recorder.status_code == 409  # it confirmed by recording


def test_a_withdrawn_or_expired_consent_cannot_be_confirmed(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    consent = domain.consent(social, child, [school, social])
    domain.withdraw(social, consent["id"])
    withdrawn = client.post(f"/api/v1/consents/{consent['id']}/confirm", headers=world.headers(school))
    assert withdrawn.status_code == 409
    assert withdrawn.json()["type"] == PROBLEM + "consent-already-withdrawn"
    expired = domain.past_consent(social, child, [school, social], confirmed_by=[social])
    response = client.post(f"/api/v1/consents/{expired}/confirm", headers=world.headers(school))
    assert response.status_code == 409
    assert response.json()["type"] == PROBLEM + "consent-expired"


def test_a_pending_consent_may_be_confirmed_ahead_and_opens_records_when_it_starts(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    concern = domain.concern(school, child)
    consent = domain.consent(social, child, [school, social], valid_from=in_days(2), valid_until=in_days(30))
    assert domain.confirm(school, consent["id"])["status"] == "pending"
    assert visible(client, world, social, "concerns", concern["id"], child) == (404, False)


def test_only_named_agencies_with_consents_write_may_confirm(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    police, health = world.agency("police"), world.agency("health_care")
    consent = domain.consent(social, child, [school, social, police])
    url = f"/api/v1/consents/{consent['id']}/confirm"
    assert client.post(url, headers=world.headers(health)).status_code == 404  # not named: no such consent
    assert client.post(url, headers=world.headers(police)).status_code == 403  # consents:read only
    assert client.post(url, headers=world.auditor()).status_code == 403
    assert client.post(url).status_code == 401
    assert client.post(url, headers={"Authorization": "Bearer forged.token.here"}).status_code == 401
    missing = client.post(
        "/api/v1/consents/00000000-0000-4000-8000-000000000000/confirm", headers=world.headers(school)
    )
    assert missing.status_code == 404


def test_confirmation_is_an_event_to_every_named_agency_and_is_logged(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    health = world.agency("health_care")
    consent = domain.consent(social, child, [school, social])
    response = client.post(
        f"/api/v1/consents/{consent['id']}/confirm", headers={**world.headers(school), "X-Request-ID": "confirming"}
    )
    assert response.status_code == 200
    assert response.headers["etag"]
    for agency in (school, social):
        assert events_about(client, world, agency, consent["id"]) == ["consent.recorded", "consent.confirmed"]
    assert events_about(client, world, health, consent["id"]) == []
    rows = world.sql(
        "SELECT action, resource_type, resource_id, child_id, outcome FROM access_log WHERE request_id = 'confirming'"
    )
    assert [(row.action, row.resource_type, row.resource_id, row.outcome) for row in rows] == [
        ("consents-confirm", "consent", consent["id"], "allowed")
    ]


def test_confirmations_are_never_edited_in_the_database(world: World, domain: Domain, scene: dict[str, str]) -> None:
    domain.consent(scene["school"], scene["child"], [scene["school"], scene["social"]])
    for statement in (
        "UPDATE consent_confirmations SET confirmed_at = confirmed_at",
        "DELETE FROM consent_confirmations",
    ):
        with pytest.raises(Exception, match="append-only"):
            world.sql(statement)
