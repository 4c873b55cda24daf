"""The access log's monthly partitions (PostgreSQL): made ahead of time, entries in their month,
DEFAULT for the rest, verification across them, and the append-only guard on each one."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, insert, text
from sqlalchemy.exc import DBAPIError

from app.audit.partitions import (
    DEFAULT_PARTITION,
    ensure_log_partitions,
    list_log_partitions,
    month_start,
    next_month,
    partition_name,
)
from app.audit.verify import run_verification
from app.db import Database, create_api_engine, create_sync_engine
from app.models.audit import AccessLogEntry
from app.models.base import table_of, utcnow
from app.ops.worker import ensure_partitions
from app.security.keys import KeyRing
from app.settings import Settings
from tests.support import World

FAR_FUTURE = datetime(2041, 5, 17, 12, 0, tzinfo=UTC)
INSERT_AT = (
    "INSERT INTO access_log (at, request_id, action, method, status_code, outcome) "
    "VALUES (:at, :request_id, 'test', 'GET', 200, 'allowed')"
)


@pytest.fixture
def postgres(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("the log is partitioned on PostgreSQL only")


@pytest.fixture
def connection(settings: Settings) -> Iterator[Connection]:
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def add_entry(connection: Connection, at: datetime, request_id: str) -> None:
    """An entry as app/audit/journal.py writes it, at a chosen time."""
    entry = {"at": at, "request_id": request_id, "action": "test", "method": "GET", "status_code": 200}
    connection.execute(insert(table_of(AccessLogEntry)).values(outcome="allowed", **entry))


def partition_of(connection: Connection, request_id: str) -> str:
    found = connection.execute(
        text("SELECT tableoid::regclass::text FROM access_log WHERE request_id = :r"), {"r": request_id}
    )
    return str(found.scalar_one())


def partitions(connection: Connection) -> set[str]:
    found = connection.execute(
        text("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'access_log'::regclass")
    )
    return set(found.scalars())


@pytest.mark.usefixtures("postgres")
def test_ensure_creates_the_month_and_the_next_ones_once(connection: Connection) -> None:
    now = datetime(2033, 11, 20, tzinfo=UTC)
    created = ensure_log_partitions(connection, now, months_ahead=3)
    assert created == ["access_log_p2033_11", "access_log_p2033_12", "access_log_p2034_01", "access_log_p2034_02"]
    assert set(created) <= partitions(connection)
    assert ensure_log_partitions(connection, now, months_ahead=3) == []
    add_entry(connection, datetime(2034, 1, 31, 23, 59, 59, tzinfo=UTC), "last-second-of-january")
    add_entry(connection, datetime(2034, 2, 1, tzinfo=UTC), "first-of-february")
    assert partition_of(connection, "last-second-of-january") == "access_log_p2034_01"
    assert partition_of(connection, "first-of-february") == "access_log_p2034_02"


@pytest.mark.usefixtures("postgres")
def test_the_migration_made_this_month_and_three_ahead(connection: Connection) -> None:
    month, expected = month_start(utcnow()), set()
    for _ in range(4):
        expected.add(partition_name(month))
        month = next_month(month)
    assert expected | {DEFAULT_PARTITION} <= partitions(connection)


@pytest.mark.usefixtures("postgres")
def test_a_request_s_entry_lands_in_its_month(world: World) -> None:
    world.agency("school")  # the admin's request writes its entry through the group commit
    rows = world.sql("SELECT tableoid::regclass::text AS part, at FROM access_log")
    assert rows
    assert {row.part for row in rows} == {partition_name(month_start(row.at)) for row in rows}


@pytest.mark.usefixtures("postgres")
def test_default_catches_an_entry_far_in_the_future_and_keeps_its_month(connection: Connection) -> None:
    add_entry(connection, FAR_FUTURE, "far-future")
    assert partition_of(connection, "far-future") == DEFAULT_PARTITION
    # That month cannot get a partition while DEFAULT holds its entries: it is skipped, not an error.
    created = ensure_log_partitions(connection, FAR_FUTURE, months_ahead=1)
    assert created == ["access_log_p2041_06"]
    assert partition_of(connection, "far-future") == DEFAULT_PARTITION


@pytest.mark.usefixtures("postgres")
def test_verification_passes_across_partitions(settings: Settings, world: World) -> None:
    world.agency("school")
    world.sql_write(INSERT_AT, at=next_month(month_start(utcnow())), request_id="next-month")
    world.sql_write(INSERT_AT, at=FAR_FUTURE, request_id="far-future")
    world.agency("school", "after-the-future")  # chained after them, back in this month
    spread = world.sql("SELECT count(DISTINCT tableoid) AS n FROM access_log")[0].n
    assert spread >= 3
    result = run_verification(settings, KeyRing.load(settings.signing_key_file))
    assert result.valid, result.reason
    assert result.entries == result.head_seq == world.sql("SELECT count(*) AS n FROM access_log")[0].n


@pytest.mark.usefixtures("postgres")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {partition} SET outcome = 'denied'",
        "DELETE FROM {partition}",
        "TRUNCATE {partition}",
        "UPDATE {default} SET outcome = 'denied'",
        "TRUNCATE {default}",
    ],
)
def test_each_partition_refuses_change(settings: Settings, world: World, statement: str) -> None:
    world.agency("school")
    world.sql_write(INSERT_AT, at=FAR_FUTURE, request_id="far-future")
    partition = partition_name(month_start(utcnow()))
    with pytest.raises(DBAPIError, match="append-only"):
        world.sql_write(statement.format(partition=partition, default=DEFAULT_PARTITION))
    assert world.sql(f"SELECT count(*) AS n FROM {partition}")[0].n >= 1


@pytest.mark.usefixtures("postgres")
def test_audit_partitions_lists_bounds_and_rows(settings: Settings, world: World) -> None:
    world.agency("school")
    world.sql_write(INSERT_AT, at=FAR_FUTURE, request_id="far-future")
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SAMHANDLING_SIGNING_KEY_FILE": str(settings.signing_key_file),
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "audit", "partitions"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    listed = json.loads(result.stdout)
    assert listed["partitioned"] is True
    by_name = {partition["name"]: partition for partition in listed["partitions"]}
    current = month_start(utcnow())
    this_month = by_name[partition_name(current)]
    assert this_month["from"] == current.isoformat()
    assert this_month["to"] == next_month(current).isoformat()
    total = world.sql("SELECT count(*) AS n FROM access_log")[0].n
    assert sum(partition["rows"] for partition in listed["partitions"]) == total
    assert by_name[DEFAULT_PARTITION] == {
        "name": DEFAULT_PARTITION,
        "from": None,
        "to": None,
        "default": True,
        "rows": 1,
    }
    assert listed["partitions"][-1]["name"] == DEFAULT_PARTITION


def test_sqlite_keeps_one_table(dialect: str, connection: Connection) -> None:
    if dialect != "sqlite":
        pytest.skip("SQLite only")
    assert ensure_log_partitions(connection, utcnow()) == []
    assert list_log_partitions(connection) == []


def last_month_ahead() -> str:
    month = month_start(utcnow())
    for _ in range(3):
        month = next_month(month)
    return partition_name(month)


@pytest.mark.usefixtures("postgres")
def test_samhandling_migrate_makes_a_missing_month(settings: Settings, world: World) -> None:
    world.sql_write(f"DROP TABLE {last_month_ahead()}")  # an empty month ahead, as before the worker's day
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SAMHANDLING_SIGNING_KEY_FILE": str(settings.signing_key_file),
    }
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True, timeout=60)
    assert world.sql("SELECT to_regclass(:name) IS NOT NULL AS found", name=last_month_ahead())[0].found


@pytest.mark.usefixtures("postgres")
def test_the_worker_makes_a_missing_month(settings: Settings, world: World) -> None:
    world.sql_write(f"DROP TABLE {last_month_ahead()}")

    async def run() -> None:
        database = Database(create_api_engine(settings))
        try:
            await ensure_partitions(database)
        finally:
            await database.dispose()

    asyncio.run(run())
    assert world.sql("SELECT to_regclass(:name) IS NOT NULL AS found", name=last_month_ahead())[0].found
