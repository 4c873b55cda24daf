"""The log, reviewable and provable (issue 22): each entry's access basis, and log reviews.

- `access_log.access_basis` and `access_log.consent_id`: why the access rule disclosed the
  record (`own`, `named`, `reported_to`, `consent`, `team`) and which consent opened it. NULL on
  every existing entry, whose hash therefore stays exactly as it was (the hash covers extension
  fields only up to the last one set: app/audit/chain.py). Adding nullable columns rewrites
  nothing, so the log's append-only triggers stay as they are.
- `access_log_reviews` (append-only, like the log): documented reviews of the log.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)


def _refuse_changes(table: str) -> None:
    """The triggers that make `table` append-only (UPDATE, DELETE; TRUNCATE too on PostgreSQL)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION samhandling_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION samhandling_refuse_change()"
        )
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} BEGIN "
            f"SELECT RAISE(ABORT, '{operation} on {table} is refused: the table is append-only'); END"
        )


def upgrade() -> None:
    op.add_column("access_log", sa.Column("access_basis", sa.String(length=16), nullable=True))
    op.add_column("access_log", sa.Column("consent_id", sa.String(length=36), nullable=True))
    op.create_table(
        "access_log_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("entries_checked", sa.Integer(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log_reviews")),
    )
    op.create_index("ix_access_log_reviews_created_at_id", "access_log_reviews", ["created_at", "id"])
    _refuse_changes("access_log_reviews")


def downgrade() -> None:
    # Dropping a table drops its triggers with it, on both dialects.
    op.drop_index("ix_access_log_reviews_created_at_id", table_name="access_log_reviews")
    op.drop_table("access_log_reviews")
    with op.batch_alter_table("access_log") as batch:
        batch.drop_column("consent_id")
        batch.drop_column("access_basis")
