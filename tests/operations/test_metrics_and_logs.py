"""Operators see what happens (metrics, one JSON line per request) and never a secret in it."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support import Domain, World, personnummer

SERIES = [
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "samhandling_tokens_issued_total",
    "samhandling_token_failures_total",
    "samhandling_access_denials_total",
    "samhandling_access_log_append_seconds_bucket",
    "samhandling_access_log_batch_entries_bucket",
    "samhandling_event_deliveries_pending",
    "samhandling_event_delivery_failures_total",
    "samhandling_db_pool_connections_in_use",
    "samhandling_db_pool_size",
]


def test_metrics_after_traffic_carry_the_series_operators_need(
    client: TestClient, world: World, domain: Domain
) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    concern = domain.concern(school, domain.child(school))
    client.get(f"/api/v1/concerns/{concern['id']}", headers=world.headers(social))  # a denial
    client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"})
    text = client.get("/metrics").text
    for series in SERIES:
        assert series in text, series
    assert 'route="/api/v1/concerns/{concern_id}"' in text  # templates, never paths with ids
    assert concern["id"] not in text
    assert 'samhandling_access_denials_total{record_type="concern"}' in text


def test_metrics_can_be_switched_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics_enabled": False}))) as client:
        assert client.get("/metrics").status_code == 404


def test_each_request_is_one_json_line_without_personnummer_or_token(
    client: TestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    school = world.agency("school")
    headers = world.headers(school)
    number = personnummer("20120101", 777)
    with caplog.at_level(logging.INFO, logger="samhandling.access"):
        client.post("/api/v1/children", json={"personnummer": number}, headers={**headers, "X-Request-ID": "log-me"})
    lines = [record for record in caplog.records if record.name == "samhandling.access"]
    fields = [record.fields for record in lines if record.fields.get("request_id") == "log-me"]  # type: ignore[attr-defined]
    assert len(fields) == 1
    assert set(fields[0]) == {"request_id", "client_id", "method", "route", "status", "duration_ms"}
    assert fields[0]["route"] == "/api/v1/children"
    rendered = "\n".join(logging.getLogger().handlers[0].formatter.format(record) for record in lines)  # type: ignore[union-attr]
    assert json.loads(rendered.splitlines()[-1])["request_id"]
    everything = caplog.text + rendered
    assert number not in everything
    assert headers["Authorization"].split()[1] not in everything
