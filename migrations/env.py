"""Alembic environment: one synchronous connection, models' metadata as the target."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from app.db import create_sync_engine
from app.models import metadata
from app.ops.migrations import include_in_comparison
from app.settings import Settings

# Any constant works; it only has to be the same for every process that migrates.
MIGRATION_LOCK_KEY = 7_214_004_371


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A migration that rebuilds a table others refer to (SQLite's only way to change a
        # column) must run with foreign keys off, as alembic's batch mode asks; the pragma has
        # no effect inside a transaction, so it is set before it begins, and checked at the end.
        _sqlite_foreign_keys(connection, on=False)
    try:
        _migrate(connection)
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_in_comparison,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several containers starting at once must not migrate concurrently.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migration left rows that break foreign keys: {broken[:5]}")


def run_migrations() -> None:
    config = context.config
    given: Connection | None = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    settings: Settings = config.attributes.get("settings") or Settings()
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `samhandling migrate`")
run_migrations()
