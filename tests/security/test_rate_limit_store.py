"""The per-client rate limit across API instances (issue 24 point 7): with the database store two
independent apps on one database share one allowance; the process store does not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import create_api_engine, create_sync_engine
from app.main import create_app
from app.security.rate_limit_store import DatabaseRateLimiter
from app.settings import Settings
from tests.support import World

LIMIT = 5


@pytest.fixture
def two_instances(settings: Settings, request: pytest.FixtureRequest) -> Iterator[tuple[World, TestClient]]:
    """Two create_app() on the same database, as two hosts behind a load balancer would be."""
    store = getattr(request, "param", "database")
    limited = settings.model_copy(update={"rate_limit_per_minute": LIMIT, "rate_limit_store": store})
    with ExitStack() as stack:
        first = stack.enter_context(TestClient(create_app(limited), raise_server_exceptions=False))
        second = stack.enter_context(TestClient(create_app(limited), raise_server_exceptions=False))
        yield World(limited, first), second


def _alternating(world: World, second: TestClient, count: int) -> list[httpx2.Response]:
    headers = world.headers(world.agency("school"))  # its token request is no API request: not charged
    instances = [world.http, second]
    return [instances[index % 2].get("/api/v1/concerns", headers=headers) for index in range(count)]


def test_two_instances_together_let_exactly_the_limit_through(two_instances: tuple[World, TestClient]) -> None:
    world, second = two_instances
    answers = _alternating(world, second, LIMIT + 2)
    assert [answer.status_code for answer in answers] == [200] * LIMIT + [429, 429]
    assert [answer.headers["ratelimit-remaining"] for answer in answers] == ["4", "3", "2", "1", "0", "0", "0"]
    refused = answers[LIMIT]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["ratelimit-limit"] == str(LIMIT)
    assert refused.headers["ratelimit-policy"] == f"{LIMIT};w=60"
    assert int(refused.headers["ratelimit-reset"]) > 0
    other = world.headers(world.agency("preschool"))  # another client has its own allowance
    assert second.get("/api/v1/concerns", headers=other).status_code == 200


@pytest.mark.parametrize("two_instances", ["process"], indirect=True)
def test_the_process_store_keeps_one_allowance_per_instance(two_instances: tuple[World, TestClient]) -> None:
    """Why the database store exists: per process, two instances let twice the limit through."""
    world, second = two_instances
    answers = _alternating(world, second, 2 * LIMIT + 2)
    assert [answer.status_code for answer in answers] == [200] * (2 * LIMIT) + [429, 429]


def test_concurrent_charges_through_two_engines_let_exactly_the_limit_through(settings: Settings) -> None:
    """Two processes' pools charging one client at once: the upsert's row lock serialises them."""

    async def race() -> list[int]:
        engines = [create_api_engine(settings.model_copy(update={"db_pool_size": 8})) for _ in range(2)]
        limiters = [DatabaseRateLimiter(engine, LIMIT) for engine in engines]
        try:
            charges = await asyncio.gather(*(limiters[index % 2].charge("cl_race") for index in range(16)))
        finally:
            for engine in engines:
                await engine.dispose()
        return [charge.retry_after for charge in charges]

    waits = asyncio.run(race())
    assert waits.count(0) == LIMIT
    assert all(wait >= 1 for wait in waits if wait)


def test_the_bucket_table_is_unlogged_on_postgresql(settings: Settings) -> None:
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as connection:
            if connection.dialect.name != "postgresql":
                pytest.skip("UNLOGGED is PostgreSQL's; on SQLite the table is a plain one")
            persistence = connection.execute(
                text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limit_buckets'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert persistence == "u"


def test_the_database_store_is_the_default_on_postgresql_only(settings: Settings) -> None:
    app = create_app(settings)
    limiter = app.state.authenticator.limiter
    assert isinstance(limiter, DatabaseRateLimiter) == settings.database_url.startswith("postgresql")


def test_a_database_that_cannot_answer_fails_the_request_instead_of_passing_it(settings: Settings) -> None:
    dead = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none", connect_args={"timeout": 1})
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as http:
        world = World(settings, http)
        headers = world.headers(world.agency("school"))
        app.state.authenticator.limiter = DatabaseRateLimiter(dead, LIMIT)
        answer = http.get("/api/v1/concerns", headers=headers)
    asyncio.run(dead.dispose())
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
