"""Consent records: recording, validation, derived status, withdrawal."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.support import Domain, World, in_days


@pytest.fixture
def setting(world: World, domain: Domain) -> dict[str, str]:
    school, social = world.agency("school"), world.agency("social_services")
    return {"school": school, "social": social, "child": domain.child(school)}


def consent_body(setting: dict[str, str], **fields: object) -> dict[str, object]:
    return {
        "child_id": setting["child"],
        "granted_by": [{"role": "guardian", "name": "Anna"}, {"role": "child", "name": "Elsa"}],
        "agency_ids": [setting["school"], setting["social"]],
        "record_types": ["concerns", "teams"],
        "purpose": "Samordnat stöd.",
        "valid_until": in_days(90),
        **fields,
    }


def test_recording_a_consent(client: TestClient, world: World, setting: dict[str, str]) -> None:
    response = client.post("/api/v1/consents", json=consent_body(setting), headers=world.headers(setting["school"]))
    assert response.status_code == 201
    consent = response.json()
    assert response.headers["location"] == f"/api/v1/consents/{consent['id']}"
    assert consent["status"] == "active"
    assert consent["withdrawal"] is None
    assert sorted(consent["agency_ids"]) == sorted([setting["school"], setting["social"]])
    assert consent["record_types"] == ["concerns", "teams"]
    assert consent["agency_id"] == setting["school"]


def test_a_consent_may_cover_every_kind_of_record_each_once(
    client: TestClient, world: World, setting: dict[str, str]
) -> None:
    kinds = ["concerns", "assessments", "teams", "plans", "signals"]
    body = consent_body(setting, record_types=kinds)
    response = client.post("/api/v1/consents", json=body, headers=world.headers(setting["school"]))
    assert response.status_code == 201, response.text
    assert response.json()["record_types"] == kinds
    fetched = client.get(response.headers["location"], headers=world.headers(setting["social"])).json()
    assert fetched["record_types"] == kinds


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"agency_ids": ["__school__"]}, "agency_ids"),
        ({"agency_ids": ["__social__", "health-x"]}, "agency_ids"),
        ({"agency_ids": ["__school__", "no-such-agency"]}, "agency_ids"),
        ({"agency_ids": ["__school__", "__school__"]}, "agency_ids"),
        ({"granted_by": []}, "granted_by"),
        ({"granted_by": [{"role": "teacher", "name": "X"}]}, "role"),
        ({"record_types": []}, "record_types"),
        ({"record_types": ["diaries"]}, "record_types"),
        ({"purpose": ""}, "purpose"),
        ({"valid_until": in_days(-1)}, "valid_until"),
        ({"valid_from": in_days(10), "valid_until": in_days(5)}, "body"),
        ({"child_id": str(uuid.uuid4())}, "child_id"),
        ({"status": "active"}, "status"),
    ],
)
def test_invalid_consents_are_422(
    client: TestClient, world: World, setting: dict[str, str], fields: dict[str, object], field: str
) -> None:
    if "agency_ids" in fields:
        fields["agency_ids"] = [
            {"__school__": setting["school"], "__social__": setting["social"]}.get(agency, agency)
            for agency in fields["agency_ids"]  # type: ignore[attr-defined]
        ]
    response = client.post(
        "/api/v1/consents", json=consent_body(setting, **fields), headers=world.headers(setting["school"])
    )
    assert response.status_code == 422, response.text
    assert field in [str(part) for error in response.json()["errors"] for part in error["loc"]]


def test_status_is_derived_at_read_time(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school, social, child = setting["school"], setting["social"], setting["child"]
    pending = domain.consent(school, child, [school, social], valid_from=in_days(2), valid_until=in_days(20))
    expired = domain.past_consent(school, child, [school, social])
    withdrawn = domain.consent(school, child, [school, social])
    domain.withdraw(social, withdrawn["id"])
    statuses = {
        item["id"]: item["status"]
        for item in client.get("/api/v1/consents", params={"child_id": child}, headers=world.headers(school)).json()[
            "items"
        ]
    }
    assert statuses == {pending["id"]: "pending", expired: "expired", withdrawn["id"]: "withdrawn"}


def test_withdrawal_is_recorded_once(client: TestClient, world: World, domain: Domain, setting: dict[str, str]) -> None:
    consent = domain.consent(setting["school"], setting["child"], [setting["school"], setting["social"]])
    url = f"/api/v1/consents/{consent['id']}/withdraw"
    withdrawal = {"withdrawn_by": {"role": "guardian", "name": "Anna"}, "reason": "Vill avsluta."}
    first = client.post(url, json=withdrawal, headers=world.headers(setting["social"]))
    assert first.status_code == 200
    assert first.json()["status"] == "withdrawn"
    assert first.json()["withdrawal"]["agency_id"] == setting["social"]
    assert first.json()["withdrawal"]["reason"] == "Vill avsluta."
    second = client.post(url, json=withdrawal, headers=world.headers(setting["school"]))
    assert second.status_code == 409


def test_only_named_agencies_may_withdraw(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    health = world.agency("health_care")
    consent = domain.consent(setting["school"], setting["child"], [setting["school"], setting["social"]])
    response = client.post(
        f"/api/v1/consents/{consent['id']}/withdraw",
        json={"withdrawn_by": {"role": "guardian", "name": "Anna"}},
        headers=world.headers(health),
    )
    assert response.status_code == 404


def test_consents_are_never_edited_in_the_database(world: World, domain: Domain, setting: dict[str, str]) -> None:
    consent = domain.consent(setting["school"], setting["child"], [setting["school"], setting["social"]])
    from sqlalchemy.exc import DBAPIError

    for statement in (
        "UPDATE consents SET purpose = 'x'",
        "DELETE FROM consent_parties",
        "DELETE FROM consents",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            world.sql(statement)
    assert world.sql("SELECT id FROM consents")[0].id is not None
    assert consent["id"]


def test_police_may_read_but_not_record_consent(client: TestClient, world: World, domain: Domain) -> None:
    police = world.agency("police")
    school = world.agency("school")
    child = domain.child(school)
    domain.consent(school, child, [school, police])
    body = {
        "child_id": child,
        "granted_by": [{"role": "guardian", "name": "A"}],
        "agency_ids": [police, school],
        "record_types": ["concerns"],
        "purpose": "p",
        "valid_until": in_days(5),
    }
    assert client.post("/api/v1/consents", json=body, headers=world.headers(police)).status_code == 403
    listed = client.get("/api/v1/consents", params={"child_id": child}, headers=world.headers(police))
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 1
