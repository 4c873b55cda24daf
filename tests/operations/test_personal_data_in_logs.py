"""No personal data in the server log: not from a failing statement, not from caller-supplied text."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.db import create_api_engine, create_sync_engine
from app.observability import JsonFormatter
from app.settings import Settings
from tests.support import Domain, World, in_days, personnummer

GUARDIAN = "Agnetha Fältskog-Ulvaeus"


@pytest.fixture
def server_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger, rendered as the service writes them (tracebacks included)."""
    with caplog.at_level(logging.DEBUG):
        yield caplog


def rendered(caplog: pytest.LogCaptureFixture) -> str:
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_every_engine_hides_statement_parameters(settings: Settings) -> None:
    api = create_api_engine(settings)
    sync = create_sync_engine(settings)
    try:
        assert api.sync_engine.hide_parameters
        assert sync.hide_parameters
    finally:
        sync.dispose()


def _fail_inserts(world: World, dialect: str, table: str, error_code: str) -> None:
    """Make every INSERT into `table` fail in the database — on PostgreSQL with the row's text
    in the error message, as a constraint's DETAIL would carry it."""
    if dialect == "sqlite":
        world.sql_write(
            f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'forced'); END"
        )
        return
    world.sql_write(
        f"CREATE FUNCTION fail_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION 'forced: %', row_to_json(NEW)::text USING ERRCODE = '{error_code}'; END $$"
    )
    world.sql_write(
        f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION fail_{table}()"
    )


def test_a_failing_insert_puts_no_personal_data_in_the_server_log(
    client: TestClient, world: World, domain: Domain, dialect: str, server_log: pytest.LogCaptureFixture
) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    child = domain.child(school)
    number = personnummer("20150612", 238)
    _fail_inserts(world, dialect, "concerns", "check_violation")  # an integrity error → 409
    _fail_inserts(world, dialect, "consent_parties", "data_exception")  # anything else → 500
    concern = client.post(
        "/api/v1/concerns",
        json={
            "child_id": child,
            "areas": ["safe"],
            "urgency": "urgent",
            "description": f"Barnet {number} berättar att {GUARDIAN} slår.",
        },
        headers=world.headers(school),
    )
    consent = client.post(
        "/api/v1/consents",
        json={
            "child_id": child,
            "granted_by": [{"role": "guardian", "name": GUARDIAN}],
            "agency_ids": [school, social],
            "record_types": ["concerns"],
            "purpose": f"Stöd kring {number}.",
            "valid_until": in_days(30),
        },
        headers=world.headers(school),
    )
    assert concern.status_code >= 400
    assert consent.status_code >= 400
    log = rendered(server_log)
    assert "failed" in log or "integrity" in log  # the failures were logged …
    for secret in (number, number[2:], GUARDIAN, "Fältskog", "slår"):
        assert secret not in log  # … without what the request carried
    assert "Barnet" not in concern.text
    assert number not in consent.text


def test_a_request_id_shaped_like_a_personnummer_is_replaced(
    client: TestClient, world: World, server_log: pytest.LogCaptureFixture
) -> None:
    headers = world.headers(world.agency("school"))
    for supplied in ("20150612-2389", "201506122389", "150612-2389", "case-1506122389"):
        response = client.get("/api/v1/concerns", headers={**headers, "X-Request-ID": supplied})
        assert response.status_code == 200
        assert response.headers["x-request-id"] != supplied
        assert not world.sql("SELECT id FROM access_log WHERE request_id = :id", id=supplied)
    for sane in ("order-2026-11-22.7", "1234567890abcdef1234567890abcdef", "12345678-1234-1234-1234-123456789012"):
        kept = client.get("/api/v1/concerns", headers={**headers, "X-Request-ID": sane})
        assert kept.headers["x-request-id"] == sane  # a UUID is kept even when it holds many digits
    log = rendered(server_log)
    assert "2389" not in log


def test_purpose_of_use_holding_a_personnummer_is_refused(
    client: TestClient, world: World, server_log: pytest.LogCaptureFixture
) -> None:
    headers = world.headers(world.agency("school"))
    refused = client.get("/api/v1/concerns", headers={**headers, "Purpose-Of-Use": "utredning av 20150612-2389"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["header", "Purpose-Of-Use"]
    accepted = client.get("/api/v1/concerns", headers={**headers, "Purpose-Of-Use": "coordination"})
    assert accepted.status_code == 200
    stored = [row.purpose_of_use for row in world.sql("SELECT purpose_of_use FROM access_log")]
    assert "coordination" in stored
    assert not any("2389" in (value or "") for value in stored)
    assert "2389" not in rendered(server_log)


def test_a_claimed_client_id_of_another_shape_is_logged_as_invalid(
    client: TestClient, world: World, server_log: pytest.LogCaptureFixture
) -> None:
    number = personnummer("20150612", 238)
    for claimed in (number, "cl_" + number[:12] + "abcd", "Anna Andersson"):
        response = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(claimed, "whatever-secret")
        )
        assert response.status_code == 401
    shaped = "cl_AbCdEfGhIjKlMnOp"
    client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(shaped, "whatever-secret"))
    logged = {row.client_id for row in world.sql("SELECT client_id FROM access_log WHERE route = '/oauth/token'")}
    assert logged == {"invalid", shaped}  # (the repeated 'invalid' denials are counted into one entry)
    attempts = {row.client_key for row in world.sql("SELECT client_key FROM auth_attempts")}
    assert attempts == {"invalid", shaped}
    log = rendered(server_log)
    assert number not in log
    assert "Andersson" not in log
