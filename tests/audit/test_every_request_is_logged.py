"""One mechanism logs every request to /api/v1 and /oauth/token — whatever happens to it."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.http.routing import is_audited
from tests.support import World


def audited_operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation the app publishes under the audited prefixes."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if is_audited(path)
        for method in operations
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def entries_for(world: World, request_id: str) -> list[Any]:
    return world.sql("SELECT outcome, status_code, route, method FROM access_log WHERE request_id = :r", r=request_id)


def test_the_app_has_audited_routes(app: FastAPI) -> None:
    assert len(audited_operations(app)) >= 10


@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "authenticated"])
def test_every_audited_operation_writes_an_entry(
    app: FastAPI, client: TestClient, world: World, with_token: bool
) -> None:
    headers = world.headers(world.agency("school")) if with_token else {}
    for method, path in audited_operations(app):
        request_id = str(uuid.uuid4())  # a UUID is always kept as the request id
        response = client.request(method, concrete(path), headers={**headers, "X-Request-ID": request_id}, json={})
        rows = entries_for(world, request_id)
        assert rows, f"{method} {path} ({response.status_code}) wrote no access-log entry"
        assert all(row.status_code == response.status_code for row in rows)
        assert all(row.route == path for row in rows), (method, path, rows)


@pytest.mark.parametrize(
    ("method", "path", "status", "outcome"),
    [
        ("GET", "/api/v1/agencies", 401, "denied"),
        ("GET", "/api/v1/no/such/route", 404, "denied"),
        ("DELETE", "/api/v1/agencies", 405, "error"),
        ("POST", "/oauth/token", 400, "error"),
    ],
)
def test_denied_and_failed_requests_are_logged_with_their_outcome(
    client: TestClient, world: World, method: str, path: str, status: int, outcome: str
) -> None:
    response = client.request(method, path, headers={"X-Request-ID": f"r-{status}"}, data={})
    assert response.status_code == status
    rows = entries_for(world, f"r-{status}")
    assert [(row.outcome, row.status_code) for row in rows] == [(outcome, status)]


def test_unmatched_paths_are_logged_without_the_path(client: TestClient, world: World) -> None:
    client.get("/api/v1/children/199001011234/concerns", headers={"X-Request-ID": "pnr-path"})
    rows = world.sql("SELECT route, action FROM access_log WHERE request_id = 'pnr-path'")
    assert [(row.route, row.action) for row in rows] == [(None, "unmatched")]
    everything = world.sql("SELECT * FROM access_log")
    assert "199001011234" not in repr(everything)


def test_query_values_never_reach_the_log(client: TestClient, world: World) -> None:
    client.get(
        "/api/v1/agencies",
        params={"cursor": "199001011234", "limit": 5},
        headers={**world.admin(), "X-Request-ID": "query-values"},
    )
    everything = world.sql("SELECT * FROM access_log")
    assert "199001011234" not in repr(everything)


def test_purpose_of_use_and_token_id_are_recorded(client: TestClient, world: World) -> None:
    response = client.get(
        "/api/v1/agencies",
        headers={**world.admin(), "Purpose-Of-Use": "audit", "X-Request-ID": "pou"},
    )
    assert response.status_code == 200
    row = world.sql("SELECT purpose_of_use, jti FROM access_log WHERE request_id = 'pou'")[0]
    assert row.purpose_of_use == "audit"
    assert row.jti


def test_a_bad_purpose_of_use_is_422(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/agencies", headers={**world.admin(), "Purpose-Of-Use": "x\x01y"})
    assert response.status_code == 422
