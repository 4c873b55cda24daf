"""Alembic environment: one synchronous connection, models' metadata as the target."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from app.db import create_sync_engine
from app.models import metadata
from app.settings import Settings

# Any constant works; it only has to be the same for every process that migrates.
MIGRATION_LOCK_KEY = 7_214_004_371


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several containers starting at once must not migrate concurrently.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


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
