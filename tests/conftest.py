"""Test databases: built by migrations once per session, cloned for every test.

Every test that asks for `database_url` runs twice, on SQLite and on PostgreSQL, each time on
a database of its own: a copy of a migrated SQLite file, or `CREATE DATABASE … TEMPLATE` of a
migrated PostgreSQL database. Nothing is left behind.

Settings (environment):
- SAMHANDLING_TEST_DATABASES: `sqlite,postgresql` (default), or one of them.
- SAMHANDLING_TEST_POSTGRES_URL: the server to create test databases on
  (default postgresql://postgres@127.0.0.1:5432/test).
- CI=true: PostgreSQL tests fail instead of skipping when the server is unreachable.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from _pytest.mark import ParameterSet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy.engine import make_url

from app.events.secret_box import ensure_secrets_key
from app.main import create_app
from app.ops.migrations import upgrade
from app.security.keys import ensure_signing_key
from app.settings import Settings
from tests.support import Domain, World

POSTGRES_ADMIN_URL = os.environ.get("SAMHANDLING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DIALECTS = [
    name.strip()
    for name in os.environ.get("SAMHANDLING_TEST_DATABASES", "sqlite,postgresql").split(",")
    if name.strip()
]
IN_CI = os.environ.get("CI", "").lower() == "true"
RUN_ID = uuid.uuid4().hex[:8]


def _postgres_admin() -> psycopg.Connection:
    return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)


def postgres_url_for(database: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def create_postgres_database(name: str, template: str | None = None) -> str:
    with _postgres_admin() as admin:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        admin.execute(statement)
    return postgres_url_for(name)


def drop_postgres_database(name: str) -> None:
    with _postgres_admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def signing_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "signing-key.pem"
    ensure_signing_key(path)
    return path


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    if "postgresql" not in DIALECTS:
        return False
    try:
        with _postgres_admin():
            return True
    except psycopg.OperationalError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {error}")
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, signing_key_file: Path) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(Settings(database_url=f"sqlite:///{path}", signing_key_file=signing_key_file))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_available: bool, signing_key_file: Path) -> Iterator[str]:
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable (set CI=true to make this a failure)")
    name = f"samhandling_tmpl_{RUN_ID}"
    url = create_postgres_database(name)
    try:
        upgrade(Settings(database_url=url, signing_key_file=signing_key_file))
        yield name
    finally:
        drop_postgres_database(name)


def _dialect_params() -> list[ParameterSet]:
    return [pytest.param(name, id=name) for name in DIALECTS]


@pytest.fixture(params=_dialect_params())
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of the test's own, on the parametrised dialect."""
    if dialect == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"samhandling_t_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    url = create_postgres_database(name, template=template_name)
    try:
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture(scope="session")
def secrets_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "secrets.key"
    ensure_secrets_key(path)
    return path


@pytest.fixture
def settings(database_url: str, signing_key_file: Path, secrets_key_file: Path) -> Settings:
    return Settings(
        database_url=database_url,
        signing_key_file=signing_key_file,
        secrets_key_file=secrets_key_file,
        webhook_allowlist="127.0.0.1",
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def world(settings: Settings, client: TestClient) -> World:
    return World(settings, client)


@pytest.fixture
def domain(world: World) -> Domain:
    return Domain(world)
