"""The database itself refuses to change or remove log entries, on both dialects."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.audit.verify import run_verification
from app.db import create_sync_engine
from app.security.keys import KeyRing
from app.settings import Settings
from tests.support import World


def attempt(settings: Settings, statement: str) -> None:
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log SET outcome = 'allowed'",
        "DELETE FROM access_log",
        "DELETE FROM access_log WHERE id = 1",
        "UPDATE access_log_chain SET hash = prev_hash WHERE seq = 1",
        "DELETE FROM access_log_chain",
        "UPDATE access_log_checkpoints SET hash = 'x'",
        "DELETE FROM access_log_checkpoints",
    ],
)
def test_update_and_delete_are_refused(settings: Settings, world: World, statement: str) -> None:
    world.agency("school")  # at least one entry
    assert run_verification(settings, KeyRing.load(settings.signing_key_file)).checkpoint  # and a checkpoint
    with pytest.raises(DBAPIError, match="append-only"):
        attempt(settings, statement)
    assert world.sql("SELECT count(*) AS n FROM access_log")[0].n >= 1


@pytest.mark.parametrize("table", ["access_log", "access_log_chain", "access_log_checkpoints"])
def test_truncate_is_refused_on_postgresql(settings: Settings, world: World, dialect: str, table: str) -> None:
    if dialect != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    world.agency("school")
    with pytest.raises(DBAPIError, match="append-only"):
        attempt(settings, f"TRUNCATE {table}")
