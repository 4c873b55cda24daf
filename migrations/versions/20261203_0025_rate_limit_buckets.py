"""A global per-client rate limit (issue 24 point 7): `rate_limit_buckets`, one GCRA row per client.

The per-process token buckets let 3 processes pass 172 requests of a 60/min limit; with the
state in the database every API process and host charges the same row in one statement.

On PostgreSQL the table is UNLOGGED: it is a cache of the last minute, so skipping the WAL
(cheaper writes on the hot path, nothing shipped to replicas) is right, and losing its rows on
a crash (PostgreSQL truncates unlogged tables in recovery) only forgives at most a minute's
requests. On SQLite it is a plain table.

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_limit_buckets",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("tat_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_rate_limit_buckets"),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
