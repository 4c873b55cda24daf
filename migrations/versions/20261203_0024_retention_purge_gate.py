"""Retention (gallring, issue 24.2): the append-only record tables let the purge delete.

- `retention_purge_gate`: a row exists only inside a purge transaction (inserted first, deleted
  before commit; app/services/retention.py), so no other transaction ever sees one: uncommitted
  rows are invisible to other PostgreSQL transactions, and SQLite has a single writer. On
  PostgreSQL the row also records its transaction (`txid`, as the access log does) and only that
  transaction's row counts, so even a row left committed by hand opens nothing.
- The append-only triggers of the child-record tables (consents and their parties, withdrawals
  and confirmations, assessments, plan goals and reviews) still refuse every UPDATE and TRUNCATE,
  and refuse a DELETE unless the gate has a row. On PostgreSQL they call a new function
  `samhandling_refuse_change_outside_purge()`; on SQLite the DELETE triggers gain a WHEN clause.
- The access log's tables, the events and their recipients keep the old, unconditional
  triggers: retention never removes the log (it holds ids only) nor the thin events.

Revision ID: 0024
Revises: 0025
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)
PURGEABLE_TABLES = (
    "consents",
    "consent_parties",
    "consent_withdrawals",
    "consent_confirmations",
    "assessments",
    "plan_goals",
    "plan_reviews",
)

POSTGRES_GATED_FUNCTION = """
CREATE FUNCTION samhandling_refuse_change_outside_purge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM retention_purge_gate WHERE txid = pg_current_xact_id()::text::bigint
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _postgres_trigger(table: str, function: str) -> None:
    op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()"
    )


def _sqlite_delete_trigger(table: str, when: str) -> None:
    op.execute(f"DROP TRIGGER {table}_no_delete")
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {when}BEGIN "
        f"SELECT RAISE(ABORT, 'DELETE on {table} is refused: the table is append-only'); END"
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    txid_default = sa.text("(pg_current_xact_id()::text::bigint)") if postgres else sa.text("0")
    op.create_table(
        "retention_purge_gate",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("txid", sa.BigInteger(), server_default=txid_default, nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_retention_purge_gate")),
    )
    if postgres:
        op.execute(POSTGRES_GATED_FUNCTION)
        for table in PURGEABLE_TABLES:
            _postgres_trigger(table, "samhandling_refuse_change_outside_purge")
        return
    for table in PURGEABLE_TABLES:
        _sqlite_delete_trigger(table, "WHEN NOT EXISTS (SELECT 1 FROM retention_purge_gate) ")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in PURGEABLE_TABLES:
            _postgres_trigger(table, "samhandling_refuse_change")
        op.execute("DROP FUNCTION samhandling_refuse_change_outside_purge()")
    else:
        for table in PURGEABLE_TABLES:
            _sqlite_delete_trigger(table, "")
    op.drop_table("retention_purge_gate")
