"""POST /oauth/token: client credentials, both client authentication methods, RFC 6749 errors."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi.testclient import TestClient
from jose import jwt

from app.main import create_app
from app.models.base import utcnow
from app.settings import Settings
from tests.support import Credentials, World


@pytest.fixture
def school(world: World) -> Credentials:
    return world.client(world.agency("school"))


def token_request(client: TestClient, credentials: Credentials, **form: str) -> httpx2.Response:
    form.setdefault("grant_type", "client_credentials")
    return client.post("/oauth/token", data=form, auth=(credentials.client_id, credentials.client_secret))


def assert_oauth_error(response: httpx2.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert body["request_id"] == response.headers["x-request-id"]


def test_client_secret_basic_gets_a_bearer_token(client: TestClient, school: Credentials) -> None:
    response = token_request(client, school)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert "concerns:read" in body["scope"].split()


def test_client_secret_post_gets_a_bearer_token(client: TestClient, school: Credentials) -> None:
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": school.client_id,
            "client_secret": school.client_secret,
        },
    )
    assert response.status_code == 200


def test_token_carries_the_contract_claims_and_header(client: TestClient, school: Credentials) -> None:
    token = token_request(client, school).json()["access_token"]
    header = jwt.get_unverified_header(token)
    claims = jwt.get_unverified_claims(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"]
    assert claims["sub"] == claims["client_id"] == school.client_id
    assert claims["agency_id"] == school.agency_id
    assert claims["role"] == "practitioner"
    assert claims["aud"] == "samhandling"
    assert claims["iss"] == "http://localhost:8000"
    assert claims["exp"] - claims["iat"] == 300
    assert len(claims["jti"]) >= 16


def test_scope_can_be_narrowed(client: TestClient, school: Credentials) -> None:
    response = token_request(client, school, scope="concerns:read teams:read")
    assert response.status_code == 200
    assert response.json()["scope"] == "concerns:read teams:read"
    token = response.json()["access_token"]
    assert jwt.get_unverified_claims(token)["scope"] == "concerns:read teams:read"


@pytest.mark.parametrize("scope", ["audit:read", "admin", "concerns:read admin", "", "nonsense"])
def test_scope_beyond_the_clients_is_invalid_scope(client: TestClient, school: Credentials, scope: str) -> None:
    assert_oauth_error(token_request(client, school, scope=scope), 400, "invalid_scope")


def test_wrong_secret_is_invalid_client(client: TestClient, school: Credentials) -> None:
    wrong = Credentials(school.client_id, "not-the-secret", school.agency_id, school.role)
    response = token_request(client, wrong)
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


def test_unknown_client_is_invalid_client(client: TestClient) -> None:
    unknown = Credentials("cl_nobody", "whatever", "x", "practitioner")
    assert_oauth_error(token_request(client, unknown), 401, "invalid_client")


def test_missing_client_authentication_is_invalid_client(client: TestClient) -> None:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert_oauth_error(response, 401, "invalid_client")


def test_unsupported_grant_type(client: TestClient, school: Credentials) -> None:
    assert_oauth_error(token_request(client, school, grant_type="password"), 400, "unsupported_grant_type")


def test_missing_grant_type_is_invalid_request(client: TestClient, school: Credentials) -> None:
    response = client.post("/oauth/token", data={}, auth=(school.client_id, school.client_secret))
    assert_oauth_error(response, 400, "invalid_request")


def test_two_authentication_methods_at_once_is_invalid_request(client: TestClient, school: Credentials) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": school.client_id, "client_secret": "x"},
        auth=(school.client_id, school.client_secret),
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_repeated_parameter_is_invalid_request(client: TestClient, school: Credentials) -> None:
    response = client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": "Basic "
            + base64.b64encode(f"{school.client_id}:{school.client_secret}".encode()).decode(),
        },
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_json_body_is_invalid_request(client: TestClient, school: Credentials) -> None:
    response = client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials"},
        auth=(school.client_id, school.client_secret),
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_revoked_client_gets_no_token(client: TestClient, world: World, school: Credentials) -> None:
    response = client.post(f"/api/v1/clients/{school.client_id}/revoke", headers=world.admin())
    assert response.status_code == 200
    assert_oauth_error(token_request(client, school), 401, "invalid_client")


def test_ten_failures_lock_the_client_id_for_a_minute(
    client: TestClient, school: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = Credentials(school.client_id, "wrong", school.agency_id, school.role)
    for _ in range(10):
        assert token_request(client, wrong).status_code == 401
    locked = token_request(client, school)
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert locked.headers["content-type"] == "application/problem+json"

    # Another client_id is not affected.
    other = Credentials("cl_other", "x", "y", "practitioner")
    assert token_request(client, other).status_code == 401

    # Once the minute has passed, the right secret works again.
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr("app.security.login_throttle.utcnow", lambda: later)
    assert token_request(client, school).status_code == 200


def test_a_real_oauth2_client_library_gets_tokens_both_ways(settings: Settings, school: Credentials) -> None:
    app = create_app(settings)  # an app of its own: its connection pool belongs to this event loop

    async def fetch_both() -> list[dict[str, Any]]:
        tokens = []
        for method in ("client_secret_basic", "client_secret_post"):
            async with AsyncOAuth2Client(
                client_id=school.client_id,
                client_secret=school.client_secret,
                token_endpoint_auth_method=method,
                transport=httpx2.ASGITransport(app=app),
            ) as oauth:
                token = await oauth.fetch_token("http://testserver/oauth/token", grant_type="client_credentials")
                tokens.append(dict(token))
        await app.state.committer.close()
        await app.state.database.dispose()
        return tokens

    for token in asyncio.run(fetch_both()):
        assert token["token_type"] == "Bearer"
        assert jwt.get_unverified_claims(token["access_token"])["sub"] == school.client_id


def test_failed_and_successful_logins_are_logged(client: TestClient, world: World, school: Credentials) -> None:
    wrong = Credentials(school.client_id, "wrong", school.agency_id, school.role)
    failed = token_request(client, wrong)
    succeeded = token_request(client, school)
    rows = world.sql(
        "SELECT request_id, client_id, outcome, status_code, route FROM access_log "
        "WHERE request_id IN (:a, :b) ORDER BY id",
        a=failed.headers["x-request-id"],
        b=succeeded.headers["x-request-id"],
    )
    assert [(row.client_id, row.outcome, row.status_code, row.route) for row in rows] == [
        (school.client_id, "denied", 401, "/oauth/token"),
        (school.client_id, "allowed", 200, "/oauth/token"),
    ]
