"""Edges the attack review found in the pipeline: caching headers, path variants, 405s and
bodies that never finish."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from app.http.routing import is_audited
from app.main import create_app
from app.settings import Settings
from tests.support import Domain, World


async def asgi_request(
    app: FastAPI,
    method: str,
    path: str,
    headers: Iterable[tuple[str, str]] = (),
    chunks: Iterable[bytes] = (b"",),
    hang_after_chunks: bool = False,
) -> tuple[int, dict[str, str]]:
    """One request straight into the ASGI app, with the path exactly as a server would pass it."""
    pending = list(chunks)
    messages: list[Message] = []

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or hang_after_chunks}
        await asyncio.sleep(3600)  # the client never sends the rest
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        "client": ("192.0.2.1", 40000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start = next(message for message in messages if message["type"] == "http.response.start")
    return start["status"], {name.decode(): value.decode() for name, value in start["headers"]}


async def _shut(app: FastAPI) -> None:
    await app.state.committer.close()
    await app.state.sequencer.close()
    await app.state.database.dispose()


def test_every_api_response_says_no_store_and_nosniff_errors_included(
    settings: Settings, world: World, domain: Domain
) -> None:
    tight = settings.model_copy(update={"anonymous_requests_per_minute": 3, "max_body_bytes": 2048})
    with TestClient(create_app(tight)) as client:
        world = World(tight, client)
        school = world.agency("school")
        headers = world.headers(school)  # the first request without a token: a token request
        responses: list[httpx2.Response] = [
            client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("cl_x", "nope")),
            client.get("/api/v1/concerns"),
            client.get("/api/v1/concerns"),  # the fourth without a token: 429
            client.get("/api/v1/concerns", headers=headers),
            client.get("/api/v1/access-log", headers=headers),
            client.get(f"/api/v1/concerns/{uuid.uuid4()}", headers=headers),
            client.get("/api/v1/no-such-thing", headers=headers),
            client.delete("/api/v1/concerns", headers=headers),
            client.post("/api/v1/concerns", content=b"x" * 4096, headers=headers),
        ]
        statuses = [response.status_code for response in responses]
        assert statuses == [401, 401, 429, 200, 403, 404, 404, 405, 413]
        for response in responses:
            assert response.headers.get_list("cache-control") == ["no-store"], response.request.url
            assert response.headers["x-content-type-options"] == "nosniff"
        assert client.get("/healthz").headers["x-content-type-options"] == "nosniff"


VARIANTS = [
    "//api/v1/concerns",
    "/api//v1/concerns",
    "/API/v1/concerns",
    "/Api/V1/Concerns",
    "/api%2Fv1/concerns",  # a server passes this on decoded once: still encoded here
    "/%61pi/v1/concerns",
    "/./api/v1/concerns",
    "/api/v1/../v1/concerns",
    "/api\\v1/concerns",
    "//oauth/token",
    "/OAUTH/token",
    "/api",
    "/oauth",
]


@pytest.mark.parametrize("path", VARIANTS)
def test_a_non_canonical_api_path_is_audited(path: str) -> None:
    assert is_audited(path)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/openapi.json", "/.well-known/jwks.json", "/apis"])
def test_paths_outside_the_api_are_not_audited(path: str) -> None:
    assert not is_audited(path)


def test_every_path_variant_is_logged_whether_served_or_refused(settings: Settings, world: World) -> None:
    headers = world.headers(world.agency("school"))
    app = create_app(settings)

    async def walk() -> dict[str, int]:
        answered = {}
        try:
            for index, path in enumerate(VARIANTS):
                request_id = f"variant-{index}"
                status, _ = await asyncio_request(app, path, {**headers, "X-Request-ID": request_id})
                answered[request_id] = status
        finally:
            await _shut(app)
        return answered

    answered = asyncio.run(walk())
    for request_id, status in answered.items():
        rows = world.sql("SELECT status_code FROM access_log WHERE request_id = :id", id=request_id)
        assert [row.status_code for row in rows][:1] == [status], (request_id, status)
        assert status in (200, 401, 404, 405), (request_id, status)


async def asyncio_request(app: FastAPI, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    return await asgi_request(app, "GET", path, headers.items())


def test_a_405_is_logged_with_its_route_and_no_operation_of_it(
    client: TestClient, world: World, domain: Domain
) -> None:
    school = world.agency("school")
    concern = domain.concern(school, domain.child(school))
    client.delete(f"/api/v1/concerns/{concern['id']}", headers={**world.headers(school), "X-Request-ID": "del"})
    client.put("/api/v1/concerns", headers={**world.headers(school), "X-Request-ID": "put"})
    rows = world.sql(
        "SELECT request_id, route, action, status_code, outcome FROM access_log "
        "WHERE request_id IN ('del', 'put') ORDER BY id"
    )
    assert [tuple(row) for row in rows] == [
        ("del", "/api/v1/concerns/{concern_id}", "method-not-allowed", 405, "error"),
        ("put", "/api/v1/concerns", "method-not-allowed", 405, "error"),
    ]


def test_a_body_that_never_finishes_is_answered_408_and_logged(settings: Settings, world: World) -> None:
    headers = world.headers(world.agency("school"))
    app = create_app(settings.model_copy(update={"http_body_timeout_seconds": 0.5}))

    async def trickle() -> tuple[int, dict[str, str]]:
        try:
            return await asgi_request(
                app,
                "POST",
                "/api/v1/concerns",
                [*headers.items(), ("Content-Type", "application/json"), ("X-Request-ID", "slow-body")],
                chunks=[b'{"child_id": '],
                hang_after_chunks=True,
            )
        finally:
            await _shut(app)

    status, response_headers = asyncio.run(trickle())
    assert status == 408
    assert response_headers["connection"] == "close"
    assert [
        row.status_code for row in world.sql("SELECT status_code FROM access_log WHERE request_id = 'slow-body'")
    ] == [408]
