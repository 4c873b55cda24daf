"""Liveness and readiness, including a database that is gone or behind."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.ops.migrations import downgrade
from app.settings import Settings


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
