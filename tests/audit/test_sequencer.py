"""The sequencer chains every committed entry exactly once, in commit order, whatever runs beside it."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from app.audit.sequencer import chain_pending
from app.db import create_sync_engine
from app.models.base import utcnow
from app.settings import Settings
from tests.conftest import create_postgres_database, drop_postgres_database


def insert_entry(connection: Connection, request_id: str) -> None:
    connection.execute(
        text(
            "INSERT INTO access_log (at, request_id, action, method, status_code, outcome) "
            "VALUES (:at, :r, 'test', 'GET', 200, 'allowed')"
        ),
        {"at": utcnow(), "r": request_id},
    )


def insert_committed(settings: Settings, request_id: str) -> None:
    """One entry, inserted and committed by a session of the service (its own engine)."""
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            insert_entry(connection, request_id)
    finally:
        engine.dispose()


def chain(settings: Settings) -> int:
    engine = create_sync_engine(settings)
    try:
        with engine.execution_options(sqlite_write=True).begin() as connection:
            return chain_pending(connection, wait=True)
    finally:
        engine.dispose()


def chained_request_ids(settings: Settings) -> list[str]:
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT e.request_id FROM access_log_chain c JOIN access_log e ON e.id = c.entry_id ORDER BY c.seq"
                )
            )
            return [row.request_id for row in rows]
    finally:
        engine.dispose()


def test_a_slow_transactions_entry_is_chained_when_it_commits_never_skipped(dialect: str, settings: Settings) -> None:
    if dialect != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's")
    engine = create_sync_engine(settings)
    try:
        slow = engine.connect()
        slow_transaction = slow.begin()
        insert_entry(slow, "slow")  # takes a transaction id, not yet committed
        with engine.begin() as fast:
            insert_entry(fast, "fast")  # a later transaction commits first
        chain(settings)
        assert chained_request_ids(settings) == []  # "fast" waits behind the open transaction
        slow_transaction.commit()
        slow.close()
        chain(settings)
        assert chained_request_ids(settings) == ["slow", "fast"]  # commit order, none lost
    finally:
        engine.dispose()


def test_a_long_transaction_in_another_database_does_not_hold_the_chain_back(
    dialect: str, settings: Settings, request: pytest.FixtureRequest
) -> None:
    if dialect != "postgresql":
        pytest.skip("several databases on one server are PostgreSQL's")
    request.getfixturevalue("postgres_template")
    name = f"samhandling_other_{uuid.uuid4().hex[:8]}"
    other_url = create_postgres_database(name)
    try:
        with psycopg.connect(other_url) as other:
            other.execute("CREATE TABLE busy (x int)")
            other.execute("INSERT INTO busy VALUES (1)")  # holds a transaction id, uncommitted
            insert_committed(settings, "ours")
            assert chain(settings) == 1
            assert chained_request_ids(settings) == ["ours"]
            other.rollback()
    finally:
        drop_postgres_database(name)


def test_sqlite_chains_in_insert_order(dialect: str, settings: Settings) -> None:
    if dialect != "sqlite":
        pytest.skip("the SQLite case")
    engine = create_sync_engine(settings)
    try:
        for request_id in ("one", "two", "three"):
            with engine.execution_options(sqlite_write=True).begin() as connection:
                insert_entry(connection, request_id)
    finally:
        engine.dispose()
    assert chain(settings) == 3
    assert chained_request_ids(settings) == ["one", "two", "three"]
    assert chain(settings) == 0


def test_an_operators_open_transaction_does_not_hold_the_chain_back(dialect: str, settings: Settings) -> None:
    """psql (or any tool that is not the service) in our database: its transactions never write
    the log through the service, so the chain does not wait for them (issue 24)."""
    if dialect != "postgresql":
        pytest.skip("concurrent sessions are PostgreSQL's")
    with psycopg.connect(settings.database_url, application_name="psql") as operator:
        operator.execute("SELECT txid_current()")  # holds a transaction id, left open
        insert_committed(settings, "ours")
        assert chain(settings) == 1
        assert chained_request_ids(settings) == ["ours"]
        operator.rollback()


def test_readiness_says_how_long_the_chain_has_waited_for_the_services_open_transaction(
    dialect: str, settings: Settings, client: TestClient
) -> None:
    if dialect != "postgresql":
        pytest.skip("pg_stat_activity is PostgreSQL's")
    assert client.get("/readyz").json()["log_chain_held_seconds"] is None
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as stuck:
            transaction = stuck.begin()
            stuck.execute(text("SELECT txid_current()"))  # the service's session, open and writing
            held = client.get("/readyz")
            assert held.status_code == 200  # a stuck session is not a reason to leave the balancer
            assert held.json()["log_chain_held_seconds"] >= 0
            transaction.rollback()
    finally:
        engine.dispose()
    assert client.get("/readyz").json()["log_chain_held_seconds"] is None
