"""Administration over HTTP (scope `admin`): agencies and clients; no child data."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support import World


def test_admin_registers_an_agency(client: TestClient, world: World) -> None:
    body = {
        "id": "norrskolan",
        "kind": "school",
        "name": "Norrskolan",
        "municipality": "Lindesberg",
        "organisation_number": "2120002114",
        "school_unit_code": "12345678",
    }
    response = client.post("/api/v1/agencies", json=body, headers=world.admin())
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/agencies/norrskolan"
    assert response.json()["kind"] == "school"
    fetched = client.get(response.headers["location"], headers=world.admin())
    assert fetched.json()["school_unit_code"] == "12345678"


def test_duplicate_agency_is_409(client: TestClient, world: World) -> None:
    body = {"id": "dup-school", "kind": "school", "name": "A"}
    assert client.post("/api/v1/agencies", json=body, headers=world.admin()).status_code == 201
    second = client.post("/api/v1/agencies", json=body, headers=world.admin())
    assert second.status_code == 409
    assert second.json()["type"] == "urn:samhandling:problem:agency-already-exists"


def test_agency_identifiers_are_validated(client: TestClient, world: World) -> None:
    for field, value in [
        ("organisation_number", "2120002115"),  # wrong check digit
        ("school_unit_code", "1234"),
        ("hsa_id", "not-an-hsa-id"),
        ("kind", "church"),
        ("id", "Upper Case"),
    ]:
        body = {"id": "x-agency", "kind": "school", "name": "X", field: value}
        response = client.post("/api/v1/agencies", json=body, headers=world.admin())
        assert response.status_code == 422, field
        assert response.json()["errors"][0]["loc"][-1] == field


def test_unknown_fields_are_refused(client: TestClient, world: World) -> None:
    body = {"id": "x-agency", "kind": "school", "name": "X", "created_at": "2020-01-01T00:00:00Z"}
    assert client.post("/api/v1/agencies", json=body, headers=world.admin()).status_code == 422


def test_agencies_page_with_a_cursor(client: TestClient, world: World) -> None:
    for index in range(5):
        world.agency("school", f"page-{index}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/agencies", params=params, headers=world.admin()).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert {f"page-{index}" for index in range(5)} <= set(seen)


def test_a_tampered_cursor_is_422(client: TestClient, world: World) -> None:
    for index in range(3):
        world.agency("school", f"tamper-{index}")
    page = client.get("/api/v1/agencies", params={"limit": 1}, headers=world.admin()).json()
    cursor = page["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (tampered, "garbage", cursor + "x"):
        response = client.get("/api/v1/agencies", params={"cursor": bad}, headers=world.admin())
        assert response.status_code == 422


def test_a_cursor_from_another_list_is_422(client: TestClient, world: World) -> None:
    world.client(world.agency("school"))
    world.client(world.agency("school"))
    clients_page = client.get("/api/v1/clients", params={"limit": 1}, headers=world.admin()).json()
    response = client.get("/api/v1/agencies", params={"cursor": clients_page["next_cursor"]}, headers=world.admin())
    assert response.status_code == 422


def test_limit_outside_1_to_200_is_422(client: TestClient, world: World) -> None:
    for limit in (0, 201, -1):
        response = client.get("/api/v1/agencies", params={"limit": limit}, headers=world.admin())
        assert response.status_code == 422


def test_admin_creates_a_client_and_sees_the_secret_once(client: TestClient, world: World) -> None:
    agency = world.agency("health_care")
    response = client.post(
        "/api/v1/clients",
        json={"agency_id": agency, "role": "practitioner", "name": "Journal"},
        headers=world.admin(),
    )
    assert response.status_code == 201
    created = response.json()
    assert created["client_secret"]
    assert "assessments:read" in created["scopes"]
    stored = world.sql("SELECT secret_hash FROM clients WHERE client_id = :id", id=created["client_id"])
    assert stored[0].secret_hash.startswith("$argon2id$")
    assert created["client_secret"] not in stored[0].secret_hash
    listed = client.get("/api/v1/clients", params={"limit": 200}, headers=world.admin()).json()["items"]
    mine = [item for item in listed if item["client_id"] == created["client_id"]]
    assert mine
    assert "client_secret" not in mine[0]
    token = world.token(world.client(agency))  # the factory's own client still works
    assert token


def test_client_for_unknown_agency_is_422(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/clients", json={"agency_id": "nowhere", "role": "admin", "name": "X"}, headers=world.admin()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "agency_id"]


def test_revoke_twice_is_409_and_unknown_is_404(client: TestClient, world: World) -> None:
    credentials = world.client(world.agency("school"))
    url = f"/api/v1/clients/{credentials.client_id}/revoke"
    first = client.post(url, headers=world.admin())
    assert first.status_code == 200
    assert first.json()["revoked_at"]
    again = client.post(url, headers=world.admin())
    assert again.status_code == 409
    assert again.json()["type"] == "urn:samhandling:problem:client-already-revoked"
    assert client.post("/api/v1/clients/cl_nobody/revoke", headers=world.admin()).status_code == 404


def test_practitioners_and_auditors_cannot_administer(client: TestClient, world: World) -> None:
    school = world.agency("school")
    for headers in (world.headers(school), world.auditor()):
        assert client.get("/api/v1/clients", headers=headers).status_code == 403
        response = client.post(
            "/api/v1/agencies", json={"id": "sneaky", "kind": "school", "name": "S"}, headers=headers
        )
        assert response.status_code == 403


# -- an agency's admin acts within its own agency (v1.1) ------------------------------------


def test_an_agency_admin_manages_its_own_agencys_clients_only(client: TestClient, world: World) -> None:
    mine, other = world.agency("school"), world.agency("health_care")
    admin = world.agency_admin(mine)
    created = client.post(
        "/api/v1/clients", json={"agency_id": mine, "role": "practitioner", "name": "Elevhälsa"}, headers=admin
    )
    assert created.status_code == 201
    assert created.json()["platform"] is False
    foreign = client.post(
        "/api/v1/clients", json={"agency_id": other, "role": "practitioner", "name": "X"}, headers=admin
    )
    assert foreign.status_code == 403
    unknown = client.post(
        "/api/v1/clients", json={"agency_id": "nowhere", "role": "practitioner", "name": "X"}, headers=admin
    )
    assert unknown.status_code == 403  # not "no such agency": an agency's admin learns nothing of others
    other_client = world.client(other)
    assert client.get(f"/api/v1/clients/{other_client.client_id}", headers=admin).status_code == 403
    assert client.post(f"/api/v1/clients/{other_client.client_id}/revoke", headers=admin).status_code == 403
    listed = client.get("/api/v1/clients", params={"limit": 200}, headers=admin).json()["items"]
    assert {item["agency_id"] for item in listed} == {mine}
    assert created.json()["client_id"] in [item["client_id"] for item in listed]
    revoked = client.post(f"/api/v1/clients/{created.json()['client_id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert world.token(other_client)  # the other agency's client was never touched


def test_an_agency_admin_cannot_mint_an_auditor_or_register_agencies(client: TestClient, world: World) -> None:
    mine = world.agency("school")
    admin = world.agency_admin(mine)
    auditor = client.post("/api/v1/clients", json={"agency_id": mine, "role": "auditor", "name": "DSO"}, headers=admin)
    assert auditor.status_code == 403  # an auditor reads every agency's log
    body = {"id": "sneaky-agency", "kind": "school", "name": "S"}
    assert client.post("/api/v1/agencies", json=body, headers=admin).status_code == 403
    assert world.sql("SELECT id FROM agencies WHERE id = 'sneaky-agency'") == []
    platform = client.post(
        "/api/v1/clients", json={"agency_id": mine, "role": "auditor", "name": "DSO"}, headers=world.admin()
    )
    assert platform.status_code == 201


def test_an_agency_admin_reads_its_own_agency_only(client: TestClient, world: World) -> None:
    mine, other = world.agency("school"), world.agency("health_care")
    admin = world.agency_admin(mine)
    assert [item["id"] for item in client.get("/api/v1/agencies", headers=admin).json()["items"]] == [mine]
    assert client.get(f"/api/v1/agencies/{mine}", headers=admin).status_code == 200
    assert client.get(f"/api/v1/agencies/{other}", headers=admin).status_code == 403
    assert client.get("/api/v1/agencies/nowhere", headers=admin).status_code == 403
    everyone = client.get("/api/v1/agencies", params={"limit": 200}, headers=world.admin()).json()["items"]
    assert {mine, other} <= {item["id"] for item in everyone}


def test_an_agency_admin_cannot_revoke_a_platform_admin_of_its_agency(client: TestClient, world: World) -> None:
    world.admin()  # the platform admin lives in the operations agency
    platform = world.client("operations", "admin", platform=True)
    local = world.agency_admin("operations")
    assert client.post(f"/api/v1/clients/{platform.client_id}/revoke", headers=local).status_code == 403
    assert world.token(platform)


def test_clients_created_and_revoked_reach_their_agencys_feed_and_the_log(client: TestClient, world: World) -> None:
    agency, bystander = world.agency("school"), world.agency("school")
    created = client.post(
        "/api/v1/clients",
        json={"agency_id": agency, "role": "practitioner", "name": "Nytt system"},
        headers={**world.admin(), "X-Request-ID": "made-client"},
    ).json()
    client.post(
        f"/api/v1/clients/{created['client_id']}/revoke", headers={**world.admin(), "X-Request-ID": "revoked-client"}
    )

    def client_events(of: str) -> list[tuple[str, str, str | None]]:
        items = client.get("/api/v1/events", params={"limit": 200}, headers=world.headers(of)).json()["items"]
        return [
            (item["type"], item["record_id"], item["child_id"]) for item in items if item["record_type"] == "client"
        ]

    ours = client_events(agency)
    assert ("client.created", created["client_id"], None) in ours
    assert ("client.revoked", created["client_id"], None) in ours
    assert created["client_id"] not in [record_id for _type, record_id, _child in client_events(bystander)]
    rows = world.sql(
        "SELECT request_id, action, resource_type, resource_id FROM access_log "
        "WHERE request_id IN ('made-client', 'revoked-client') ORDER BY id"
    )
    assert [(row.action, row.resource_type, row.resource_id) for row in rows] == [
        ("clients-create", "client", created["client_id"]),
        ("clients-revoke", "client", created["client_id"]),
    ]
