"""Limits that keep one client or one request from hurting the rest."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.contract.harness import Credentials
from tests.reliability.api import Api, concern_body
from tests.reliability.proxy import DatabaseProxy
from tests.server import Server


def test_the_per_client_rate_limit_holds_across_two_servers_and_answers_429_with_retry_after(
    seeded: dict[str, Credentials], start_server: Callable[..., Server]
) -> None:
    """Two `samhandling serve` processes on one database, as two hosts behind a load balancer (one
    issuer): together they let exactly the limit through (per process they let 172 of 60 pass)."""
    limits = {"SAMHANDLING_RATE_LIMIT_PER_MINUTE": "20", "SAMHANDLING_ISSUER": "http://samhandling.test"}
    with ThreadPoolExecutor(2) as pool:  # they boot side by side: half the wait
        servers = list(pool.map(lambda _: start_server(workers=1, **limits), range(2)))
    school = Api.login(servers[0].url, seeded["school"])
    police = Api.login(servers[1].url, seeded["police"])
    hosts = [Api(server.url, school.token) for server in servers]
    with hosts[0].client() as first, hosts[1].client() as second:
        statuses = [(first, second)[index % 2].get("/api/v1/concerns", params={"limit": 1}) for index in range(30)]
    assert [response.status_code for response in statuses] == [200] * 20 + [429] * 10
    limited = statuses[20:]
    assert all(int(response.headers["retry-after"]) >= 1 for response in limited)
    assert limited[0].headers["content-type"] == "application/problem+json"
    with police.client() as http:  # another client is not affected
        assert http.get("/api/v1/concerns", params={"limit": 1}).status_code == 200


def test_big_deep_and_wide_bodies_are_refused_cheaply(
    seeded: dict[str, Credentials], start_server: Callable[..., Server]
) -> None:
    server = start_server(workers=1)
    school = Api.login(server.url, seeded["school"])
    headers = {"content-type": "application/json"}
    cases = {
        "too large": (b'{"description": "' + b"x" * 300_000 + b'"}', 413),
        "too deep": (b"[" * 100_000 + b"]" * 100_000, 422),
        "too wide": (b"{" + b",".join(b'"k%d": %d' % (n, n) for n in range(12_000)) + b"}", 422),
        "too long a list": (b'{"areas": [' + b",".join([b'"safe"'] * 20_000) + b"]}", 422),
    }
    with school.client() as http:
        for name, (body, expected) in cases.items():
            started = time.monotonic()
            response = http.post("/api/v1/concerns", content=body, headers=headers)
            assert response.status_code == expected, name
            assert response.headers["content-type"] == "application/problem+json", name
            assert time.monotonic() - started < 1.0, name
        assert http.get("/healthz").status_code == 200  # and the worker is still fine


def test_pool_exhaustion_answers_503_quickly_instead_of_queueing(
    seeded: dict[str, Credentials], start_server: Callable[..., Server], proxy: DatabaseProxy
) -> None:
    server = start_server(
        workers=1,
        via=proxy,
        SAMHANDLING_DB_POOL_SIZE="1",
        SAMHANDLING_DB_MAX_OVERFLOW="0",
        SAMHANDLING_DB_POOL_TIMEOUT="0.5",
    )
    school = Api.login(server.url, seeded["school"])
    child = school.child(11)
    proxy.delay(0.3)
    import concurrent.futures

    def post() -> tuple[int, float]:
        started = time.monotonic()
        with school.client(timeout=30) as http:
            response = http.post("/api/v1/concerns", json=concern_body(child))
        return response.status_code, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: post(), range(8)))
    proxy.up()
    statuses = [status for status, _ in results]
    assert 503 in statuses, statuses
    assert set(statuses) <= {201, 503}, statuses
    refused_in = [elapsed for status, elapsed in results if status == 503]
    assert max(refused_in) < 8, refused_in  # bounded: never an indefinite queue
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
