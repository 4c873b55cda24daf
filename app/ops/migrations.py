"""Running alembic from the application: `samhandling migrate`, readiness, tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from app.audit.partitions import is_log_partition
from app.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(settings: Settings, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["settings"] = settings
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def include_in_comparison(name: str | None, kind: str, _parent: Mapping[str, str | None]) -> bool:
    """For comparing models with the database: the log's monthly partitions (PostgreSQL, revision
    0027) are not tables the models declare, but parts of `access_log`."""
    return not (kind == "table" and name is not None and is_log_partition(name))


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(Settings()))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)
