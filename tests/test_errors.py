"""Every error the app produces is one problem+json shape, with a request id and no internals."""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def assert_problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail", "request_id"} <= body.keys()
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert isinstance(body, dict)
    return body


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/no-such-thing"), 404)


def test_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/healthz")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_payload_over_the_cap_is_413(client: TestClient, app: FastAPI) -> None:
    too_big = b"x" * (app.state.settings.max_body_bytes + 1)
    body = assert_problem(client.post("/api/v1/concerns", content=too_big), 413)
    assert "exceeds" in body["detail"]


def test_payload_over_the_cap_without_content_length_is_413(client: TestClient, app: FastAPI) -> None:
    chunks = (b"x" * 1024 for _ in range(app.state.settings.max_body_bytes // 1024 + 2))
    assert_problem(client.post("/api/v1/concerns", content=chunks), 413)


@pytest.mark.parametrize(
    ("supplied", "echoed"),
    [("abc-123_X.y", True), ("x" * 128, True), ("x" * 129, False), ("has space", False), ("", False)],
)
def test_request_id_is_echoed_only_when_sane(client: TestClient, supplied: str, echoed: bool) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": supplied})
    assert (response.headers["x-request-id"] == supplied) is echoed
    assert 1 <= len(response.headers["x-request-id"]) <= 128


def test_unexpected_error_is_a_500_without_a_traceback(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/boom")
    body = assert_problem(response, 500)
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] in caplog.text
    assert "secret internals" in caplog.text
