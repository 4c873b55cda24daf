"""Log retention (issue 24 point 2): `access_log_retirements`, one signed row per dropped month.

When a month of the access log is past its retention and a signed checkpoint covers it, the
month's partition is dropped (app/audit/log_retention.py). Its chain links, the Merkle tree's
nodes, checkpoints and tree heads stay: they hold hashes, never content. This table records
what went — the partition, its month, the chain positions its entries had (`first_seq` …
`last_seq`, less the positions in that span whose entries belong to other months, `kept_seqs`),
how many entries, and the checkpoint that covered them — signed with the service's key, so that
verification can tell a month dropped by retention from entries deleted by someone else, and a
row inserted by hand from one the service wrote. Append-only, like the log.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)
TABLE = "access_log_retirements"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("partition", sa.String(64), nullable=False),
        sa.Column("month_from", UTC_DATETIME, nullable=False),
        sa.Column("month_to", UTC_DATETIME, nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("kept_seqs", sa.JSON(), nullable=False),
        sa.Column("checkpoint_seq", sa.BigInteger(), nullable=False),
        sa.Column("retired_at", UTC_DATETIME, nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(4000), nullable=False),
        sa.PrimaryKeyConstraint("partition", name="pk_access_log_retirements"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION samhandling_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION samhandling_refuse_change()"
        )
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{operation.lower()} BEFORE {operation} ON {TABLE} BEGIN "
            f"SELECT RAISE(ABORT, '{operation} on {TABLE} is refused: the table is append-only'); END"
        )


def downgrade() -> None:
    op.drop_table(TABLE)
