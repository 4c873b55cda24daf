"""Liveness and readiness, including a database that is gone or behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.audit.write_health import LogWriteHealth
from app.main import create_app
from app.ops.migrations import downgrade
from app.settings import Settings
from tests.support import Domain, World


def test_healthz_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_draining_process_answers_new_requests_503_and_closes_the_connection(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    app.state.lifecycle.draining = True  # what SIGTERM sets (app/main.py)
    for path in ("/healthz", "/api/v1/concerns"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["connection"] == "close"
        assert response.headers["retry-after"] == "1"
        assert "restarting" in response.json()["detail"]
    app.state.lifecycle.draining = False
    assert client.get("/healthz").status_code == 200


def test_readyz_is_ready_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_is_503_when_the_schema_is_behind_the_head(settings: Settings) -> None:
    downgrade(settings, "base")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "not at" in response.json()["detail"]


def test_readyz_is_503_quickly_when_postgresql_is_unreachable(signing_key_file: Path) -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/nothing", signing_key_file=signing_key_file)
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["status"] == 503
    assert elapsed < 5


def test_log_write_health_fails_after_a_failed_commit_until_one_succeeds_or_the_window_passes() -> None:
    now = [100.0]
    health = LogWriteHealth(window_seconds=10, clock=lambda: now[0])
    assert health.problem() is None  # nothing written yet: nothing known to be wrong
    health.failed()
    health.failed()
    assert health.problem() is not None
    assert "2 commit(s)" in str(health.problem())
    health.succeeded()
    assert health.problem() is None  # a later success clears it at once
    health.failed()
    now[0] += 10.5
    assert health.problem() is None  # out of the window: let the next request try again
    assert LogWriteHealth(window_seconds=0).problem() is None


FULL_DISK = {
    "sqlite": [
        "CREATE TRIGGER full_disk BEFORE INSERT ON access_log "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$",
        "CREATE TRIGGER full_disk BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION full_disk()",
    ],
}
DISK_FREED = {
    "sqlite": ["DROP TRIGGER full_disk"],
    "postgresql": ["DROP TRIGGER full_disk ON access_log", "DROP FUNCTION full_disk()"],
}


@pytest.mark.parametrize("path", ["read", "write"])
def test_readyz_is_503_while_log_writes_fail_and_ready_again_once_one_succeeds(
    client: TestClient, world: World, domain: Domain, dialect: str, path: str
) -> None:
    school = world.agency("school")
    child = domain.child(school)
    body = {"child_id": child, "areas": ["safe"], "description": "Orolig.", "urgency": "routine"}

    def request() -> int:
        if path == "read":  # its entry goes through the group commit
            return client.get("/api/v1/concerns", headers=world.headers(school)).status_code
        # its entry commits in the request's own transaction, with the concern
        return client.post("/api/v1/concerns", json=body, headers=world.headers(school)).status_code

    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "schema_revision": "ok", "log_writes": "ok"}

    for statement in FULL_DISK[dialect]:  # the database still answers reads; no log entry commits
        world.sql_write(statement)
    assert request() == 503
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.headers["content-type"] == "application/problem+json"
    assert not_ready.json()["checks"] == {"database": "ok", "schema_revision": "ok", "log_writes": "failed"}
    assert "access-log entries failed" in not_ready.json()["detail"]
    assert client.get("/healthz").status_code == 200  # alive: a restart would not help

    for statement in DISK_FREED[dialect]:
        world.sql_write(statement)
    assert request() in {200, 201}
    assert client.get("/readyz").status_code == 200
