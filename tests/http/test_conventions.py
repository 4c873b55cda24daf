"""HTTP conventions integrators expect: gzip, conditional GET, HEAD, RateLimit headers, CORS."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support import Domain, World


def _log(world: World, method: str, route: str) -> list[tuple[str, int]]:
    rows = world.sql(
        "SELECT method, status_code FROM access_log WHERE route = :route AND method = :method ORDER BY id",
        route=route,
        method=method,
    )
    return [(row[0], row[1]) for row in rows]


def test_large_answers_are_gzipped_for_clients_that_accept_it(world: World, domain: Domain) -> None:
    school = world.agency("school")
    child = domain.child(school)
    for _ in range(5):
        domain.concern(school, child, description="Orolig. " * 100)
    headers = world.headers(school)
    compressed = world.http.get("/api/v1/concerns", headers={**headers, "Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert len(compressed.json()["items"]) == 5  # httpx decodes it
    plain = world.http.get("/api/v1/concerns", headers={**headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    small = world.http.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under a kilobyte: not worth it


def test_the_spec_is_served_gzipped(client: TestClient) -> None:
    response = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    raw = response.content
    assert len(gzip.compress(raw)) < len(raw) / 5


def test_if_none_match_with_the_current_etag_is_304_without_a_body_and_logged(world: World, domain: Domain) -> None:
    school = world.agency("school")
    concern = domain.concern(school, domain.child(school))
    path = f"/api/v1/concerns/{concern['id']}"
    first = world.http.get(path, headers=world.headers(school))
    etag = first.headers["etag"]

    unchanged = world.http.get(path, headers={**world.headers(school), "If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert "x-request-id" in unchanged.headers
    listed = world.http.get(path, headers={**world.headers(school), "If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304  # weak comparison, any of a list

    stale = world.http.get(path, headers={**world.headers(school), "If-None-Match": '"stale"'})
    assert stale.status_code == 200
    assert stale.json()["id"] == concern["id"]
    assert ("GET", 304) in _log(world, "GET", "/api/v1/concerns/{concern_id}")


def test_if_none_match_never_turns_a_denial_into_304(world: World, domain: Domain) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    concern = domain.concern(school, domain.child(school))
    path = f"/api/v1/concerns/{concern['id']}"
    hidden = world.http.get(path, headers={**world.headers(social), "If-None-Match": "*"})
    assert hidden.status_code == 404


def test_head_answers_like_get_without_the_body_and_is_logged_as_head(world: World, domain: Domain) -> None:
    school = world.agency("school")
    concern = domain.concern(school, domain.child(school))
    path = f"/api/v1/concerns/{concern['id']}"
    get = world.http.get(path, headers=world.headers(school))
    head = world.http.head(path, headers=world.headers(school))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]
    assert world.http.head("/api/v1/concerns", headers=world.headers(school)).status_code == 200
    assert world.http.head("/healthz").status_code == 200
    assert world.http.head(path).status_code == 401  # the same checks as the GET
    assert ("HEAD", 200) in _log(world, "HEAD", "/api/v1/concerns/{concern_id}")
    assert world.http.head("/api/v1/children").status_code == 405  # no GET there


@pytest.fixture
def limited(settings: Settings) -> Iterator[World]:
    limited_settings = settings.model_copy(update={"rate_limit_per_minute": 3})
    with TestClient(create_app(limited_settings), raise_server_exceptions=False) as http:
        yield World(limited_settings, http)


def test_ratelimit_headers_count_down_and_accompany_the_429(limited: World) -> None:
    school = limited.agency("school")
    headers = limited.headers(school)
    answers = [limited.http.get("/api/v1/concerns", headers=headers) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer.headers["ratelimit-limit"] for answer in answers] == ["3"] * 4
    assert [answer.headers["ratelimit-remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert int(answers[3].headers["ratelimit-reset"]) > 0
    assert answers[3].headers["retry-after"]
    assert answers[0].headers["ratelimit-policy"] == "3;w=60"


def test_no_ratelimit_headers_when_the_limit_is_off(settings: Settings) -> None:
    off = settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(off), raise_server_exceptions=False) as http:
        world = World(off, http)
        answer = http.get("/api/v1/concerns", headers=world.headers(world.agency("school")))
    assert answer.status_code == 200
    assert "ratelimit-limit" not in answer.headers


def test_cors_is_off_by_default(client: TestClient) -> None:
    preflight = client.options(
        "/api/v1/concerns",
        headers={"Origin": "https://explorer.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = client.get("/healthz", headers={"Origin": "https://explorer.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_allows_the_configured_origins_only(settings: Settings) -> None:
    cors = settings.model_copy(update={"cors_origins": "https://explorer.example"})
    with TestClient(create_app(cors), raise_server_exceptions=False) as http:
        world = World(cors, http)
        request = {"Origin": "https://explorer.example", "Access-Control-Request-Method": "PATCH"}
        preflight = http.options(
            "/api/v1/concerns/x", headers={**request, "Access-Control-Request-Headers": "authorization,if-match"}
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://explorer.example"
        assert "PATCH" in preflight.headers["access-control-allow-methods"]
        stranger = http.options("/api/v1/concerns", headers={**request, "Origin": "https://evil.example"})
        assert stranger.status_code == 400
        answer = http.get(
            "/api/v1/concerns", headers={**world.headers(world.agency("school")), "Origin": "https://explorer.example"}
        )
        assert answer.headers["access-control-allow-origin"] == "https://explorer.example"
        assert "ETag" in answer.headers["access-control-expose-headers"]
        rows = world.sql("SELECT count(*) FROM access_log WHERE method = 'OPTIONS'")
        assert rows[0][0] >= 2  # preflights are requests to the API too: logged
