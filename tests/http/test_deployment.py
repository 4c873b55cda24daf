"""Where the server runs: the issuer follows the port, and a TLS proxy's headers are honoured
only from the proxies the operator trusts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from jose import jwt

from app.main import create_app
from app.ops.migrations import upgrade
from app.settings import Settings
from tests.server import running_server
from tests.support import World, from_address


def test_the_issuer_defaults_to_localhost_on_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().issuer == "http://localhost:8000"
    assert Settings(port=18431).issuer == "http://localhost:18431"
    monkeypatch.setenv("PORT", "18432")
    assert Settings().issuer == "http://localhost:18432"
    monkeypatch.setenv("SAMHANDLING_ISSUER", "https://samhandling.example.se")
    assert Settings().issuer == "https://samhandling.example.se"  # set, it wins


def test_serve_on_another_port_advertises_that_port_and_its_tokens_verify(
    tmp_path: Path, signing_key_file: Path, secrets_key_file: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(Settings(database_url=url, signing_key_file=signing_key_file, secrets_key_file=secrets_key_file))
    with running_server(url, signing_key_file, tmp_path / "server.log", workers=1) as server:
        metadata = httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()
        base = f"http://localhost:{server.port}"
        assert metadata["issuer"] == base
        assert metadata["token_endpoint"] == f"{base}/oauth/token"
        assert metadata["jwks_uri"] == f"{base}/.well-known/jwks.json"


def test_a_token_carries_the_derived_issuer(world: World) -> None:
    token = world.token(world.client(world.agency("school")))
    assert jwt.get_unverified_claims(token)["iss"] == world.settings.issuer


@pytest.fixture
def behind_proxy(settings: Settings) -> Iterator[TestClient]:
    proxied = settings.model_copy(update={"forwarded_allow_ips": "10.0.0.7"})
    with TestClient(create_app(proxied), raise_server_exceptions=False) as http:
        yield http


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "samhandling.example.se", "X-Forwarded-For": "192.0.2.9"}


def test_a_trailing_slash_redirect_behind_a_trusted_tls_proxy_stays_on_https(behind_proxy: TestClient) -> None:
    with from_address(behind_proxy, "10.0.0.7") as http:
        response = http.get("/api/v1/concerns/", headers=FORWARDED, follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"] == "https://samhandling.example.se/api/v1/concerns"


def test_forwarded_headers_from_anyone_else_are_ignored(behind_proxy: TestClient, client: TestClient) -> None:
    for http, address in ((behind_proxy, "10.0.0.8"), (client, "10.0.0.7")):  # untrusted peer; nothing trusted
        with from_address(http, address):
            response = http.get("/api/v1/concerns/", headers=FORWARDED, follow_redirects=False)
        assert response.headers["location"].startswith("http://testserver/"), address


def test_a_malformed_forwarded_host_is_ignored(behind_proxy: TestClient) -> None:
    with from_address(behind_proxy, "10.0.0.7") as http:
        headers = {**FORWARDED, "X-Forwarded-Host": "evil.example/path?"}
        response = http.get("/api/v1/concerns/", headers=headers, follow_redirects=False)
    assert response.headers["location"] == "https://testserver/api/v1/concerns"
