"""The schema comes from migrations only; models and migrations must agree on both dialects."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db import create_sync_engine
from app.migrations_runner import downgrade, head_revision, upgrade
from app.models import metadata
from app.settings import Settings
from tests.conftest import create_postgres_database, drop_postgres_database


def test_models_and_migrations_agree(settings: Settings) -> None:
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrade_downgrade_upgrade_on_an_empty_database(
    dialect: str, tmp_path: Path, signing_key_file: Path, request
) -> None:
    if dialect == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path / 'empty.db'}", None
    else:
        request.getfixturevalue("postgres_template")  # skips when PostgreSQL is unavailable
        name = f"samhandling_mig_{uuid.uuid4().hex[:10]}"
        url, cleanup = create_postgres_database(name), name
    settings = Settings(database_url=url, signing_key_file=signing_key_file)
    try:
        upgrade(settings)
        downgrade(settings, "base")
        engine = create_sync_engine(settings)
        try:
            remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
        finally:
            engine.dispose()
        assert remaining == set()
        upgrade(settings)
        engine = create_sync_engine(settings)
        try:
            with engine.connect() as connection:
                assert MigrationContext.configure(connection).get_current_revision() == head_revision()
        finally:
            engine.dispose()
    finally:
        if cleanup:
            drop_postgres_database(cleanup)
