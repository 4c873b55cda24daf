"""Bearer tokens on API calls: every kind of bad token is a 401 problem, never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from app.security.keys import SigningKey, generate_private_key_pem
from app.security.tokens import TokenService
from tests.support import World

ENDPOINT = "/api/v1/agencies"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(claims).encode())
    return f"{head}.{body}.{b64(signature)}"


@pytest.fixture
def admin_token(world: World) -> str:
    return world.admin()["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def service(app: FastAPI) -> TokenService:
    tokens: TokenService = app.state.tokens
    return tokens


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.get_unverified_claims(token)  # python-jose is untyped
    return claims


def sign(service: TokenService, claims: dict[str, Any], **header: Any) -> str:
    key = service.keys.current
    headers = {"typ": "at+jwt", "kid": key.kid, **header}
    token: str = jwt.encode(claims, key.signer, algorithm=key.algorithm, headers=headers)  # python-jose is untyped
    return token


def assert_invalid_token(client: TestClient, token: str | None, *, scheme: str = "Bearer") -> None:
    headers = {} if token is None else {"Authorization": f"{scheme} {token}"}
    response = client.get(ENDPOINT, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["status"] == 401


def test_a_valid_token_is_accepted(client: TestClient, admin_token: str) -> None:
    assert client.get(ENDPOINT, headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200


def test_missing_token(client: TestClient) -> None:
    assert_invalid_token(client, None)


def test_wrong_scheme(client: TestClient, admin_token: str) -> None:
    assert_invalid_token(client, admin_token, scheme="Basic")


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "....", "x" * 4000, "eyJhbGciOiJSUzI1NiJ9.e30."])
def test_malformed_tokens(client: TestClient, garbage: str) -> None:
    assert_invalid_token(client, garbage)


def test_alg_none(client: TestClient, admin_token: str, service: TokenService) -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": service.keys.current.kid}
    assert_invalid_token(client, compact(header, claims_of(admin_token)))


def test_hs256_signed_with_the_public_key(client: TestClient, admin_token: str, service: TokenService) -> None:
    public_pem = (
        serialization.load_pem_private_key(service.keys.current.pem, password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": service.keys.current.kid}
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(claims_of(admin_token)).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert_invalid_token(client, f"{head}.{body}.{b64(signature)}")


def test_tampered_claims(client: TestClient, admin_token: str) -> None:
    head, _body, signature = admin_token.split(".")
    claims = claims_of(admin_token) | {"scope": "admin audit:read", "agency_id": "someone-else"}
    assert_invalid_token(client, f"{head}.{b64(json.dumps(claims).encode())}.{signature}")


def test_wrong_audience(client: TestClient, admin_token: str, service: TokenService) -> None:
    assert_invalid_token(client, sign(service, claims_of(admin_token) | {"aud": "another-service"}))


def test_wrong_issuer(client: TestClient, admin_token: str, service: TokenService) -> None:
    assert_invalid_token(client, sign(service, claims_of(admin_token) | {"iss": "https://evil.example"}))


def test_expired(client: TestClient, admin_token: str, service: TokenService) -> None:
    now = int(time.time())
    expired = claims_of(admin_token) | {"iat": now - 1000, "exp": now - 100}
    assert_invalid_token(client, sign(service, expired))


def test_expired_within_leeway_is_still_accepted(client: TestClient, admin_token: str, service: TokenService) -> None:
    now = int(time.time())
    token = sign(service, claims_of(admin_token) | {"iat": now - 400, "exp": now - 5})
    assert client.get(ENDPOINT, headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "sub", "aud", "iss", "scope", "agency_id"])
def test_a_missing_required_claim(client: TestClient, admin_token: str, service: TokenService, claim: str) -> None:
    claims = claims_of(admin_token)
    del claims[claim]
    assert_invalid_token(client, sign(service, claims))


def test_sub_and_client_id_must_agree(client: TestClient, admin_token: str, service: TokenService) -> None:
    assert_invalid_token(client, sign(service, claims_of(admin_token) | {"sub": "cl_someone"}))


def test_unknown_kid(client: TestClient, admin_token: str, service: TokenService) -> None:
    assert_invalid_token(client, sign(service, claims_of(admin_token), kid="not-our-key"))


def test_signed_by_another_key_under_our_kid(client: TestClient, admin_token: str, service: TokenService) -> None:
    stranger = SigningKey(generate_private_key_pem("RS256"))
    token = jwt.encode(
        claims_of(admin_token),
        stranger.signer,
        algorithm="RS256",
        headers={"typ": "at+jwt", "kid": service.keys.current.kid},
    )
    assert_invalid_token(client, token)


def test_es256_when_rs256_is_configured(client: TestClient, admin_token: str) -> None:
    stranger = SigningKey(generate_private_key_pem("ES256"))
    token = jwt.encode(
        claims_of(admin_token),
        stranger.signer,
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": stranger.kid},
    )
    assert_invalid_token(client, token)


@pytest.mark.parametrize("typ", [None, "JWT", "id+jwt"])
def test_wrong_or_missing_typ(client: TestClient, admin_token: str, service: TokenService, typ: str | None) -> None:
    key = service.keys.current
    headers: dict[str, Any] = {"kid": key.kid}
    if typ is not None:
        headers["typ"] = typ
    token = jwt.encode(claims_of(admin_token), key.signer, algorithm=key.algorithm, headers=headers)
    if typ is None:  # python-jose adds typ=JWT when absent; strip it to send none at all
        head, body, signature = token.split(".")
        token = f"{b64(json.dumps({'alg': key.algorithm, 'kid': key.kid}).encode())}.{body}.{signature}"
    assert_invalid_token(client, token)


def test_a_revoked_clients_unexpired_token_fails_at_once(client: TestClient, world: World) -> None:
    school = world.agency("school")
    headers = world.headers(school)
    assert client.get(f"/api/v1/agencies/{school}", headers=world.admin()).status_code == 200
    assert client.get("/api/v1/agencies", headers=headers).status_code == 403  # valid token, wrong scope
    credentials = world.client(school)
    assert client.post(f"/api/v1/clients/{credentials.client_id}/revoke", headers=world.admin()).status_code == 200
    response = client.get("/api/v1/agencies", headers=headers)
    assert response.status_code == 401


def test_valid_token_without_the_scope_is_403_insufficient_scope(client: TestClient, world: World) -> None:
    response = client.get(ENDPOINT, headers=world.auditor())
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert 'scope="admin"' in response.headers["www-authenticate"]


def test_authentication_comes_before_body_validation(client: TestClient) -> None:
    response = client.post(ENDPOINT, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 401


def test_scope_comes_before_body_validation(client: TestClient, world: World) -> None:
    response = client.post(
        ENDPOINT, content=b"{not json", headers={"content-type": "application/json", **world.auditor()}
    )
    assert response.status_code == 403
