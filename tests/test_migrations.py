"""The schema comes from migrations only; models and migrations must agree on both dialects."""

from __future__ import annotations

import ast
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, text

from app.audit.verify import run_verification
from app.db import create_sync_engine
from app.models import metadata
from app.ops.migrations import downgrade, head_revision, include_in_comparison, upgrade
from app.security.keys import KeyRing
from app.settings import Settings
from tests.conftest import create_postgres_database, drop_postgres_database


def test_models_and_migrations_agree(settings: Settings) -> None:
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as connection:
            # The log's partitions (PostgreSQL) are the database's, not tables of their own.
            opts = {"compare_type": True, "include_name": include_in_comparison}
            context = MigrationContext.configure(connection, opts=opts)
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_revisions_do_not_import_the_app() -> None:
    """An applied revision must never change: what it needs is frozen inside it, not imported."""
    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    importing = []
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            importing += [f"{path.name}: {name}" for name in names if name == "app" or name.startswith("app.")]
    assert importing == []


def test_upgrade_downgrade_upgrade_on_an_empty_database(
    dialect: str, tmp_path: Path, signing_key_file: Path, request: pytest.FixtureRequest
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


def test_v1_consents_keep_only_their_recorders_confirmation_and_events_keep_their_ids(
    dialect: str, tmp_path: Path, signing_key_file: Path, request: pytest.FixtureRequest
) -> None:
    """Revision 0006 on a database with v1 data: consents recorded under v1 count as confirmed by
    their recorder only (the documented choice), and existing events read back unchanged."""
    if dialect == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path / 'v1.db'}", None
    else:
        request.getfixturevalue("postgres_template")
        name = f"samhandling_mig_{uuid.uuid4().hex[:10]}"
        url, cleanup = create_postgres_database(name), name
    settings = Settings(database_url=url, signing_key_file=signing_key_file)
    child, consent, record = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    try:
        upgrade(settings, "0005")
        engine = create_sync_engine(settings)
        tables = _v1_tables()
        with engine.begin() as connection:
            for agency in ("skolan", "soc"):
                connection.execute(
                    insert(tables["agencies"]).values(id=agency, kind="school", name=agency, created_at=now)
                )
            connection.execute(
                insert(tables["children"]).values(
                    id=child,
                    personnummer="201506122389",
                    birth_date=now.date(),
                    is_coordination_number=False,
                    created_at=now,
                )
            )
            connection.execute(
                insert(tables["consents"]).values(
                    id=consent,
                    child_id=child,
                    agency_id="skolan",
                    granted_by=[],
                    covers_concerns=True,
                    covers_assessments=False,
                    covers_teams=False,
                    purpose="p",
                    valid_from=now,
                    valid_until=now + timedelta(days=30),
                    created_at=now,
                )
            )
            for agency in ("skolan", "soc"):
                connection.execute(
                    insert(tables["consent_parties"]).values(consent_id=consent, agency_id=agency, child_id=child)
                )
            connection.execute(
                insert(tables["events"]).values(
                    event_id=uuid.uuid4(),
                    type="consent.recorded",
                    occurred_at=now,
                    record_type="consent",
                    record_id=record,
                    child_id=child,
                    actor_agency_id="skolan",
                )
            )
        engine.dispose()
        upgrade(settings)
        engine = create_sync_engine(settings)
        try:
            with engine.connect() as connection:
                confirmed = connection.execute(text("SELECT agency_id FROM consent_confirmations")).scalars().all()
                record_ids = connection.execute(text("SELECT record_id FROM events")).scalars().all()
        finally:
            engine.dispose()
        assert confirmed == ["skolan"]
        assert record_ids == [str(record)]
    finally:
        if cleanup:
            drop_postgres_database(cleanup)


def _v1_tables() -> dict[str, sa.TableClause]:
    """The v1 tables as revision 0005 left them (only the columns the test writes)."""
    when = sa.DateTime(timezone=True)
    return {
        "agencies": sa.table(
            "agencies", sa.column("id"), sa.column("kind"), sa.column("name"), sa.column("created_at", when)
        ),
        "children": sa.table(
            "children",
            sa.column("id", sa.Uuid()),
            sa.column("personnummer"),
            sa.column("birth_date", sa.Date()),
            sa.column("is_coordination_number", sa.Boolean()),
            sa.column("created_at", when),
        ),
        "consents": sa.table(
            "consents",
            sa.column("id", sa.Uuid()),
            sa.column("child_id", sa.Uuid()),
            sa.column("agency_id"),
            sa.column("granted_by", sa.JSON()),
            sa.column("covers_concerns", sa.Boolean()),
            sa.column("covers_assessments", sa.Boolean()),
            sa.column("covers_teams", sa.Boolean()),
            sa.column("purpose"),
            sa.column("valid_from", when),
            sa.column("valid_until", when),
            sa.column("created_at", when),
        ),
        "consent_parties": sa.table(
            "consent_parties",
            sa.column("consent_id", sa.Uuid()),
            sa.column("agency_id"),
            sa.column("child_id", sa.Uuid()),
        ),
        "events": sa.table(
            "events",
            sa.column("event_id", sa.Uuid()),
            sa.column("type"),
            sa.column("occurred_at", when),
            sa.column("record_type"),
            sa.column("record_id", sa.Uuid()),
            sa.column("child_id", sa.Uuid()),
            sa.column("actor_agency_id"),
        ),
    }


def test_partitioning_moves_the_log_and_downgrade_brings_it_back(
    signing_key_file: Path, request: pytest.FixtureRequest
) -> None:
    """Revision 0027 on a log with entries (PostgreSQL): each lands in its month's partition with
    its id, the chain verifies, and the downgrade gives the same rows back in a plain table."""
    request.getfixturevalue("postgres_template")
    name = f"samhandling_mig_{uuid.uuid4().hex[:10]}"
    settings = Settings(database_url=create_postgres_database(name), signing_key_file=signing_key_file)
    written = [datetime(2025, 3, 31, 23, 59, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC), datetime.now(UTC)]
    try:
        upgrade(settings, "0018")
        for moment in written:
            _sql(
                settings,
                "INSERT INTO access_log (at, request_id, action, method, status_code, outcome) "
                "VALUES (:at, 'r', 'test', 'GET', 200, 'allowed')",
                at=moment,
            )
        before = _sql(settings, "SELECT id, at FROM access_log ORDER BY id")
        upgrade(settings)
        placed = _sql(settings, "SELECT id, at, tableoid::regclass::text AS part FROM access_log ORDER BY id")
        assert [(row.id, row.at) for row in placed] == [(row.id, row.at) for row in before]
        assert [row.part for row in placed] == [f"access_log_p{moment:%Y_%m}" for moment in written]
        assert run_verification(settings, KeyRing.load(signing_key_file), checkpoint=False).valid
        downgrade(settings, "0018")
        plain = _sql(settings, "SELECT id, at, tableoid::regclass::text AS part FROM access_log ORDER BY id")
        assert [(row.id, row.at, row.part) for row in plain] == [(row.id, row.at, "access_log") for row in before]
        _sql(
            settings,
            "INSERT INTO access_log (at, request_id, action, method, status_code, outcome) "
            "VALUES (now(), 'r', 'test', 'GET', 200, 'allowed')",
        )
        assert max(row.id for row in _sql(settings, "SELECT id FROM access_log")) == before[-1].id + 1
    finally:
        drop_postgres_database(name)


def _sql(settings: Settings, statement: str, **parameters: object) -> list[sa.Row[Any]]:
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), parameters)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()
