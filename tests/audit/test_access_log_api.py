"""Reading the log: filters, paging, auditors only, and reads of the log are logged too."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support import World


def test_only_auditors_read_the_log(client: TestClient, world: World) -> None:
    school = world.agency("school")
    assert client.get("/api/v1/access-log", headers=world.headers(school)).status_code == 403
    assert client.get("/api/v1/access-log", headers=world.admin()).status_code == 403
    assert client.get("/api/v1/access-log/verify", headers=world.headers(school)).status_code == 403
    assert client.get("/api/v1/access-log", headers=world.auditor()).status_code == 200


def test_filters_by_client_and_outcome(client: TestClient, world: World) -> None:
    school = world.agency("school")
    credentials = world.client(school)
    client.get("/api/v1/agencies", headers=world.headers(school))  # 403 → denied
    page = client.get(
        "/api/v1/access-log",
        params={"client_id": credentials.client_id, "outcome": "denied"},
        headers=world.auditor(),
    ).json()
    assert [(item["action"], item["status_code"]) for item in page["items"]] == [("agencies-list", 403)]
    allowed = client.get(
        "/api/v1/access-log",
        params={"client_id": credentials.client_id, "outcome": "allowed"},
        headers=world.auditor(),
    ).json()["items"]
    assert {item["action"] for item in allowed} == {"oauth-token"}


def test_time_window_filters(client: TestClient, world: World) -> None:
    world.agency("school")
    everything = client.get("/api/v1/access-log", params={"limit": 200}, headers=world.auditor()).json()["items"]
    middle = everything[len(everything) // 2]["at"]
    later = client.get("/api/v1/access-log", params={"since": middle, "limit": 200}, headers=world.auditor()).json()[
        "items"
    ]
    earlier = client.get("/api/v1/access-log", params={"until": middle, "limit": 200}, headers=world.auditor()).json()[
        "items"
    ]
    assert all(item["at"] >= middle for item in later)
    assert all(item["at"] < middle for item in earlier)


def test_reading_the_log_is_logged(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/access-log", headers={**world.auditor(), "X-Request-ID": "read-the-log"})
    assert response.status_code == 200
    rows = world.sql("SELECT action, resource_type FROM access_log WHERE request_id = 'read-the-log'")
    assert [(row.action, row.resource_type) for row in rows] == [("access-log-list", "access_log")]


def test_cursor_is_bound_to_the_filters(client: TestClient, world: World) -> None:
    for _ in range(3):
        world.agency("school")
    page = client.get("/api/v1/access-log", params={"limit": 1}, headers=world.auditor()).json()
    response = client.get(
        "/api/v1/access-log",
        params={"limit": 1, "cursor": page["next_cursor"], "outcome": "denied"},
        headers=world.auditor(),
    )
    assert response.status_code == 422


def test_invalid_filter_values_are_422(client: TestClient, world: World) -> None:
    for params in ({"child_id": "not-a-uuid"}, {"outcome": "maybe"}, {"since": "yesterday"}):
        assert client.get("/api/v1/access-log", params=params, headers=world.auditor()).status_code == 422
    # A control character in a text filter (PostgreSQL cannot compare a NUL: it was a 500).
    for name in ("client_id", "agency_id", "action", "resource_type", "resource_id"):
        response = client.get("/api/v1/access-log", params={name: "a\x00b"}, headers=world.auditor())
        assert response.status_code == 422, name
