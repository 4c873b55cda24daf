"""Concerns: creation and its validation, the workflow, preconditions, idempotency, paging."""

from __future__ import annotations

import uuid

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.support import Domain, World, in_days


@pytest.fixture
def setting(world: World, domain: Domain) -> dict[str, str]:
    school, social = world.agency("school"), world.agency("social_services")
    return {"school": school, "social": social, "child": domain.child(school)}


def body(child: str, **fields: object) -> dict[str, object]:
    return {"child_id": child, "areas": ["safe", "nurtured"], "description": "Orolig.", "urgency": "urgent", **fields}


def test_raising_a_concern(client: TestClient, world: World, setting: dict[str, str]) -> None:
    response = client.post("/api/v1/concerns", json=body(setting["child"]), headers=world.headers(setting["school"]))
    assert response.status_code == 201
    concern = response.json()
    assert response.headers["location"] == f"/api/v1/concerns/{concern['id']}"
    assert response.headers["etag"].startswith('"')
    assert concern["agency_id"] == setting["school"]
    assert concern["status"] == "received"
    assert [item["status"] for item in concern["status_history"]] == ["received"]
    fetched = client.get(response.headers["location"], headers=world.headers(setting["school"]))
    assert fetched.json() == concern
    assert fetched.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"areas": []}, "areas"),
        ({"areas": ["safe", "safe"]}, "areas"),
        ({"areas": ["happy"]}, "areas"),
        ({"description": ""}, "description"),
        ({"description": "x" * 10_001}, "description"),
        ({"description": "nul\x00byte"}, "description"),
        ({"urgency": "whenever"}, "urgency"),
        ({"observed_at": in_days(2)}, "observed_at"),
        ({"child_id": str(uuid.uuid4())}, "child_id"),
        ({"report_to_agency_id": "no-such-agency"}, "report_to_agency_id"),
        ({"agency_id": "someone-else"}, "agency_id"),
        ({"status": "completed"}, "status"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"created_at": in_days(-1)}, "created_at"),
    ],
)
def test_invalid_concerns_are_422_naming_the_field(
    client: TestClient, world: World, setting: dict[str, str], change: dict[str, object], field: str
) -> None:
    response = client.post(
        "/api/v1/concerns", json=body(setting["child"], **change), headers=world.headers(setting["school"])
    )
    assert response.status_code == 422, response.text
    assert field in [str(part) for error in response.json()["errors"] for part in error["loc"]]


def test_a_mandatory_report_must_go_to_social_services(
    client: TestClient, world: World, setting: dict[str, str]
) -> None:
    health = world.agency("health_care")
    response = client.post(
        "/api/v1/concerns",
        json=body(setting["child"], report_to_agency_id=health),
        headers=world.headers(setting["school"]),
    )
    assert response.status_code == 422


def test_malformed_json_is_422(client: TestClient, world: World, setting: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/concerns",
        content=b'{"child_id": ',
        headers={**world.headers(setting["school"]), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["msg"].startswith("Malformed JSON")


def change(
    client: TestClient, headers: dict[str, str], concern_id: str, status: str, etag: str | None = None
) -> httpx2.Response:
    if etag is None:
        etag = client.get(f"/api/v1/concerns/{concern_id}", headers=headers).headers["etag"]
    return client.patch(
        f"/api/v1/concerns/{concern_id}", json={"status": status}, headers={**headers, "If-Match": etag}
    )


ALLOWED = {
    "received": {"accepted", "rejected", "cancelled"},
    "accepted": {"in_progress", "cancelled"},
    "in_progress": {"completed", "cancelled"},
    "rejected": set(),
    "completed": set(),
    "cancelled": set(),
}
PATHS = {
    "received": [],
    "accepted": ["accepted"],
    "in_progress": ["accepted", "in_progress"],
    "rejected": ["rejected"],
    "completed": ["accepted", "in_progress", "completed"],
    "cancelled": ["cancelled"],
}
STATUSES = list(ALLOWED)


@pytest.mark.parametrize("start", STATUSES)
def test_the_workflow_allows_exactly_the_contracts_transitions(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str], start: str
) -> None:
    headers = world.headers(setting["school"])
    for target in STATUSES:
        concern = domain.concern(setting["school"], setting["child"])
        for step in PATHS[start]:
            assert change(client, headers, concern["id"], step).status_code == 200
        response = change(client, headers, concern["id"], target)
        expected = 200 if target in ALLOWED[start] else 409
        assert response.status_code == expected, (start, target, response.text)
        if expected == 409:
            assert response.json()["type"] == "urn:samhandling:problem:concern-transition-not-allowed"


def test_the_history_records_who_when_and_why(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    concern = domain.concern(setting["school"], setting["child"], report_to_agency_id=setting["social"])
    social = world.headers(setting["social"])
    etag = client.get(f"/api/v1/concerns/{concern['id']}", headers=social).headers["etag"]
    response = client.patch(
        f"/api/v1/concerns/{concern['id']}",
        json={"status": "accepted", "status_reason": "Förhandsbedömning inleds."},
        headers={**social, "If-Match": etag},
    )
    assert response.status_code == 200
    history = response.json()["status_history"]
    assert [(item["status"], item["from_status"]) for item in history] == [
        ("received", None),
        ("accepted", "received"),
    ]
    assert history[1]["agency_id"] == setting["social"]
    assert history[1]["reason"] == "Förhandsbedömning inleds."
    assert response.headers["etag"] != etag


def test_if_match_is_required_and_must_be_current(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    headers = world.headers(setting["school"])
    concern = domain.concern(setting["school"], setting["child"])
    url = f"/api/v1/concerns/{concern['id']}"
    assert client.patch(url, json={"status": "accepted"}, headers=headers).status_code == 428
    stale = client.get(url, headers=headers).headers["etag"]
    assert change(client, headers, concern["id"], "accepted", stale).status_code == 200
    assert change(client, headers, concern["id"], "in_progress", stale).status_code == 412
    assert change(client, headers, concern["id"], "in_progress", '"*"').status_code == 412
    assert change(client, headers, concern["id"], "in_progress", "*").status_code == 200


def test_agencies_that_see_but_do_not_handle_get_403(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    health = world.agency("health_care")
    concern = domain.concern(setting["school"], setting["child"])
    domain.consent(setting["school"], setting["child"], [setting["school"], health])
    assert change(client, world.headers(health), concern["id"], "accepted").status_code == 403
    assert change(client, world.headers(setting["social"]), concern["id"], "accepted", "*").status_code == 404


def test_an_idempotent_retry_returns_the_first_response_and_creates_nothing(
    client: TestClient, world: World, setting: dict[str, str]
) -> None:
    headers = {**world.headers(setting["school"]), "Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/concerns", json=body(setting["child"]), headers=headers)
    again = client.post("/api/v1/concerns", json=body(setting["child"]), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.headers["location"] == again.headers["location"]
    count = world.sql("SELECT count(*) AS n FROM concerns WHERE agency_id = :a", a=setting["school"])[0].n
    assert count == 1
    other_body = client.post("/api/v1/concerns", json=body(setting["child"], urgency="routine"), headers=headers)
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]


def test_idempotency_keys_are_per_client(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    preschool = world.agency("preschool")
    child = domain.child(preschool)
    first = client.post(
        "/api/v1/concerns",
        json=body(setting["child"]),
        headers={**world.headers(setting["school"]), "Idempotency-Key": "shared"},
    )
    second = client.post(
        "/api/v1/concerns", json=body(child), headers={**world.headers(preschool), "Idempotency-Key": "shared"}
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


def test_a_failed_create_does_not_burn_its_key(client: TestClient, world: World, setting: dict[str, str]) -> None:
    headers = {**world.headers(setting["school"]), "Idempotency-Key": "fix-and-retry"}
    bad = client.post("/api/v1/concerns", json=body(str(uuid.uuid4())), headers=headers)
    assert bad.status_code == 422
    good = client.post("/api/v1/concerns", json=body(setting["child"]), headers=headers)
    assert good.status_code == 201


def test_list_filters(client: TestClient, world: World, domain: Domain, setting: dict[str, str]) -> None:
    school = setting["school"]
    other_child = domain.child(school)
    first = domain.concern(school, setting["child"])
    second = domain.concern(school, other_child)
    change(client, world.headers(school), second["id"], "accepted")

    def ids(**params: str | int) -> list[str]:
        page = client.get("/api/v1/concerns", params=params, headers=world.headers(school)).json()
        return [item["id"] for item in page["items"]]

    assert ids(child_id=setting["child"]) == [first["id"]]
    assert ids(status="accepted") == [second["id"]]
    assert ids(updated_since=in_days(-1)) == [first["id"], second["id"]]
    assert ids(updated_since=in_days(1)) == []


def test_paging_is_complete_and_stable_while_rows_are_inserted(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school = setting["school"]
    created = [domain.concern(school, setting["child"])["id"] for _ in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/concerns", params=params, headers=world.headers(school)).json()
        seen += [item["id"] for item in page["items"]]
        created.append(domain.concern(school, setting["child"])["id"])  # inserted while paging
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert seen == created[: len(seen)]
    assert set(created[:7]) <= set(seen)


def test_a_list_read_appears_in_each_returned_childs_access_report(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school = setting["school"]
    children = [setting["child"], domain.child(school), domain.child(school)]
    for child in children:
        domain.concern(school, child)
    client.get("/api/v1/concerns", headers={**world.headers(school), "X-Request-ID": "list-read"})
    for child in children:
        report = client.get(f"/api/v1/children/{child}/access-report", headers=world.auditor()).json()["items"]
        assert [item["action"] for item in report if item["request_id"] == "list-read"] == ["concerns-list"]


def test_police_raise_concerns_but_read_no_assessments(client: TestClient, world: World, domain: Domain) -> None:
    police = world.agency("police")
    child = domain.child(police)
    assert domain.concern(police, child)["agency_id"] == police
    assert client.get("/api/v1/concerns", headers=world.headers(police)).status_code == 200
