"""The reliability suite runs on PostgreSQL (production's database), against real server processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.ops.migrations import upgrade
from app.settings import Settings
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.contract.harness import Credentials, seed
from tests.reliability.proxy import DatabaseProxy
from tests.server import Server, server_env


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh migrated PostgreSQL database (reliability is PostgreSQL's concern)."""
    request.getfixturevalue("postgres_template")
    name = f"samhandling_rel_{uuid.uuid4().hex[:10]}"
    url = create_postgres_database(name)
    try:
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture
def proxy() -> Iterator[DatabaseProxy]:
    proxy = DatabaseProxy()
    yield proxy
    proxy.close()


@pytest.fixture
def seeded(pg_database: str, signing_key_file: Path, secrets_key_file: Path) -> dict[str, Credentials]:
    settings = Settings(database_url=pg_database, signing_key_file=signing_key_file, secrets_key_file=secrets_key_file)
    upgrade(settings)
    return seed(settings)


@pytest.fixture
def start_server(
    pg_database: str, signing_key_file: Path, secrets_key_file: Path, tmp_path: Path
) -> Iterator[Callable[..., Server]]:
    """Start `samhandling serve` on the test database (optionally through a proxy) with extra settings."""
    started: list[Server] = []

    def start(workers: int = 2, via: DatabaseProxy | None = None, **settings: str) -> Server:
        url = pg_database
        if via is not None:
            url = make_url(pg_database).set(port=via.port).render_as_string(hide_password=False)
        env = server_env(
            url,
            signing_key_file,
            SAMHANDLING_SECRETS_KEY_FILE=str(secrets_key_file),
            SAMHANDLING_TOKEN_TTL="900",
            **settings,
        )
        server = Server(env, workers, tmp_path / f"server-{len(started)}.log")
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
