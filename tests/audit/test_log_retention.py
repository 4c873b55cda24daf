"""Retention of the access log (issue 24 point 2): whole months dropped on PostgreSQL, only after a
signed checkpoint covers them, and the log still verifies — incrementally and from the genesis.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import Connection, insert, text

from app.audit.log_retention import MonthDecision, past_retention, retire_month
from app.audit.partitions import DEFAULT_PARTITION, ensure_log_partitions
from app.audit.verify import run_verification
from app.cli import main
from app.db import Database, create_api_engine, sync_connection
from app.models.audit import AccessLogEntry
from app.models.base import table_of, utcnow
from app.ops.retention import run_retention
from app.security.keys import KeyRing
from app.settings import LOG_RETENTION_FLOOR_DAYS, Settings
from tests.audit.test_tamper import unguarded
from tests.support import World

FIVE_YEARS = LOG_RETENTION_FLOOR_DAYS
OLD_MONTHS = ("access_log_p2019_01", "access_log_p2019_02")


@pytest.fixture
def postgres(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("the log is partitioned, and its months dropped, on PostgreSQL only")


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    return KeyRing.load(settings.signing_key_file)


@pytest.fixture
def engine_connection(settings: Settings) -> Iterator[Connection]:
    with sync_connection(settings) as connection:
        yield connection


def add_entries(settings: Settings, at: datetime, count: int, prefix: str) -> None:
    """Entries as app/audit/journal.py writes them, at a chosen time, committed together."""
    with sync_connection(settings) as connection, connection.begin():
        for index in range(count):
            connection.execute(
                insert(table_of(AccessLogEntry)).values(
                    at=at.replace(minute=index % 60),
                    request_id=f"{prefix}-{index}",
                    action="test",
                    method="GET",
                    status_code=200,
                    outcome="allowed",
                )
            )


@pytest.fixture
def old_log(settings: Settings, world: World) -> None:
    """Two months of 2019 (past five years), chained but with no checkpoint yet, then today's
    entries after them."""
    with sync_connection(settings) as connection, connection.begin():
        ensure_log_partitions(connection, datetime(2019, 1, 10, tzinfo=UTC), months_ahead=1)
    add_entries(settings, datetime(2019, 1, 10, 9, 0, tzinfo=UTC), 5, "january")
    add_entries(settings, datetime(2019, 2, 10, 9, 0, tzinfo=UTC), 4, "february")
    world.agency("school", "today")
    assert run_verification(settings, None, checkpoint=False).valid  # chains, signs nothing


def decisions(connection: Connection, keys: KeyRing) -> dict[str, MonthDecision]:
    with connection.begin():
        return {month.partition: month for month in past_retention(connection, keys, FIVE_YEARS, utcnow())}


def retire(settings: Settings, keys: KeyRing, partition: str) -> bool:
    with sync_connection(settings) as connection, connection.begin():
        return retire_month(connection, keys, partition, FIVE_YEARS, utcnow()) is not None


def full_verify_finds(settings: Settings, keys: KeyRing) -> str | None:
    """What a verification from the genesis reports broken (None: intact)."""
    result = run_verification(settings, keys, checkpoint=False)
    return None if result.valid else result.reason


def tables(connection: Connection) -> set[str]:
    with connection.begin():
        rows = connection.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'access_log_p%'"))
        return set(rows.scalars())


@pytest.mark.usefixtures("postgres", "old_log")
def test_a_month_past_retention_waits_for_a_signed_checkpoint_after_it(
    settings: Settings, keys: KeyRing, engine_connection: Connection
) -> None:
    months = decisions(engine_connection, keys)
    assert set(months) == set(OLD_MONTHS)  # never this month, nor the months made ahead
    january, february = months[OLD_MONTHS[0]], months[OLD_MONTHS[1]]
    assert (january.entries, february.entries) == (5, 4)
    assert january.waits is not None
    assert "no signed checkpoint" in january.waits
    assert february.waits is not None
    assert "older month" in february.waits
    assert not retire(settings, keys, OLD_MONTHS[0])
    assert OLD_MONTHS[0] in tables(engine_connection)

    assert run_verification(settings, keys).checkpoint is not None  # the daily verify signs the head
    months = decisions(engine_connection, keys)
    assert months[OLD_MONTHS[0]].due
    assert months[OLD_MONTHS[1]].due


@pytest.mark.usefixtures("postgres", "old_log")
def test_after_the_drop_the_log_verifies_incrementally_and_from_the_genesis(
    settings: Settings, keys: KeyRing, engine_connection: Connection, world: World
) -> None:
    assert run_verification(settings, keys).valid
    before = run_verification(settings, keys, checkpoint=False)
    assert retire(settings, keys, OLD_MONTHS[0])
    assert retire(settings, keys, OLD_MONTHS[1])
    assert not tables(engine_connection) & set(OLD_MONTHS)
    remaining = world.sql("SELECT count(*) AS n FROM access_log WHERE request_id LIKE 'january-%'")[0].n
    assert remaining == 0
    world.agency("school", "after-the-drop")

    daily = run_verification(settings, keys, incremental=True)
    assert daily.valid, daily.reason
    assert daily.from_seq > 0
    full = run_verification(settings, keys, checkpoint=False)
    assert full.valid, full.reason
    assert full.from_seq == 0
    assert full.retired_entries == 9  # walked as links: prev_hash, tree, checkpoints
    assert full.entries == full.head_seq
    assert full.tree_root == daily.tree_root
    assert before.head_seq < full.head_seq
    retired = world.sql("SELECT partition, entries, kid FROM access_log_retirements ORDER BY first_seq")
    assert [(row.partition, row.entries) for row in retired] == [(OLD_MONTHS[0], 5), (OLD_MONTHS[1], 4)]


@pytest.mark.usefixtures("postgres", "old_log")
def test_an_entry_deleted_outside_the_retired_months_is_still_found(
    settings: Settings, keys: KeyRing, world: World
) -> None:
    assert run_verification(settings, keys).valid
    assert retire(settings, keys, OLD_MONTHS[0])
    victim = world.sql("SELECT id FROM access_log WHERE request_id = 'february-2'")[0].id
    unguarded(settings, "DELETE FROM access_log WHERE id = :id", id=victim)
    assert full_verify_finds(settings, keys) == "the entry this link names is missing"


@pytest.mark.usefixtures("postgres", "old_log")
def test_a_retirement_record_added_by_hand_to_excuse_deleted_entries_is_tampering(
    settings: Settings, keys: KeyRing, world: World
) -> None:
    assert run_verification(settings, keys).valid
    positions = world.sql(
        "SELECT min(c.seq) AS first, max(c.seq) AS last FROM access_log_chain c "
        "JOIN access_log e ON e.id = c.entry_id WHERE e.request_id LIKE 'january-%'"
    )[0]
    checkpoint = world.sql("SELECT max(seq) AS seq FROM access_log_checkpoints")[0].seq
    unguarded(
        settings,
        "DELETE FROM access_log WHERE request_id LIKE 'january-%'",
        "INSERT INTO access_log_retirements (partition, month_from, month_to, first_seq, last_seq, entries, "
        "kept_seqs, checkpoint_seq, retired_at, kid, signature) VALUES ('access_log_p2019_01', "
        "'2019-01-01T00:00:00Z', '2019-02-01T00:00:00Z', :first, :last, 5, '[]', :checkpoint, now(), :kid, 'x.y.z')",
        first=positions.first,
        last=positions.last,
        checkpoint=checkpoint,
        kid=keys.current.kid,
    )
    assert full_verify_finds(settings, keys) == "the record of the retired month access_log_p2019_01 is forged"


@pytest.mark.usefixtures("postgres", "old_log")
def test_unchained_entries_hold_their_month_and_default_is_never_dropped(
    settings: Settings, keys: KeyRing, engine_connection: Connection
) -> None:
    assert run_verification(settings, keys).valid
    add_entries(settings, datetime(2019, 1, 20, 9, 0, tzinfo=UTC), 1, "late")  # not chained yet
    add_entries(settings, datetime(2018, 6, 1, 9, 0, tzinfo=UTC), 1, "no-month")  # lands in DEFAULT
    months = decisions(engine_connection, keys)
    assert DEFAULT_PARTITION not in months
    waits = months[OLD_MONTHS[0]].waits
    assert waits is not None
    assert "not chained" in waits
    assert not retire(settings, keys, OLD_MONTHS[0])


@pytest.mark.usefixtures("postgres", "old_log")
def test_retention_run_drops_due_months_logged_and_the_default_keeps_everything(
    settings: Settings, keys: KeyRing, world: World, engine_connection: Connection
) -> None:
    assert run_verification(settings, keys).valid

    async def run(configured: Settings) -> dict[str, object]:
        database = Database(create_api_engine(configured))
        try:
            return await run_retention(database, configured, "test:retention")
        finally:
            await database.dispose()

    assert "access_log" not in asyncio.run(run(settings))  # unset: the log is kept whole
    assert set(OLD_MONTHS) <= tables(engine_connection)

    configured = settings.model_copy(update={"retention_access_log_days": FIVE_YEARS})
    outcome = asyncio.run(run(configured))
    log = outcome["access_log"]
    assert isinstance(log, dict)
    assert [month["partition"] for month in log["dropped"]] == list(OLD_MONTHS)
    logged = world.sql(
        "SELECT resource_id, client_id FROM access_log WHERE resource_type = 'access_log_partition' ORDER BY id"
    )
    assert [(row.resource_id, row.client_id) for row in logged] == [(name, "test:retention") for name in OLD_MONTHS]
    assert run_verification(settings, keys, checkpoint=False).valid


def test_a_log_retention_under_five_years_is_refused(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="retention_access_log_days"):
        Settings(**{**settings.model_dump(), "retention_access_log_days": LOG_RETENTION_FLOOR_DAYS - 1})
    assert Settings(**{**settings.model_dump(), "retention_access_log_days": LOG_RETENTION_FLOOR_DAYS})


@pytest.mark.usefixtures("cli_env")
def test_retention_plan_lists_the_log_or_says_it_needs_postgresql(
    dialect: str, world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAMHANDLING_RETENTION_ACCESS_LOG_DAYS", str(FIVE_YEARS))
    assert main(["retention", "plan"]) == 0
    log = json.loads(capsys.readouterr().out)["access_log"]
    if dialect == "postgresql":
        assert log == {"supported": True, "months": []}  # nothing in the log is five years old
    else:
        assert log["supported"] is False
        assert "PostgreSQL" in log["reason"]


@pytest.mark.usefixtures("postgres", "old_log")
def test_another_months_entry_inside_the_dropped_span_stays_guarded(
    settings: Settings, keys: KeyRing, world: World
) -> None:
    """Chain order is commit order: a January entry committed after a February one puts February's
    entry inside January's span. Dropping January excuses January's positions only."""
    add_entries(settings, datetime(2019, 1, 31, 23, 0, tzinfo=UTC), 1, "late-january")
    world.agency("school", "today-again")
    assert run_verification(settings, keys).valid  # chains the late entry after February's, and signs
    between = world.sql(
        "SELECT c.seq FROM access_log_chain c JOIN access_log e ON e.id = c.entry_id "
        "WHERE e.at >= '2019-02-01' AND c.seq < (SELECT c2.seq FROM access_log_chain c2 JOIN access_log e2 "
        "ON e2.id = c2.entry_id WHERE e2.request_id = 'late-january-0') ORDER BY c.seq"
    )
    assert len(between) >= 4  # February's four entries, and today's, lie inside January's span
    assert retire(settings, keys, OLD_MONTHS[0])
    kept = world.sql("SELECT kept_seqs FROM access_log_retirements")[0].kept_seqs
    assert kept == [row.seq for row in between]
    assert run_verification(settings, keys, checkpoint=False).valid
    victim = world.sql("SELECT id FROM access_log WHERE request_id = 'february-1'")[0].id
    unguarded(settings, "DELETE FROM access_log WHERE id = :id", id=victim)
    assert full_verify_finds(settings, keys) == "the entry this link names is missing"
