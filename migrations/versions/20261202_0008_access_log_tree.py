"""The Merkle tree over the access log (RFC 9162 §2.1) and its signed tree heads.

- `access_log_tree_nodes` (append-only): the hash of every complete, aligned subtree from level
  4 up (16 leaves and more); node (level, position) covers leaves [position·2^level,
  (position+1)·2^level). Smaller subtrees are hashed from `access_log_chain.hash` when needed.
- `access_log_tree_heads` (append-only): a signed tree head per checkpoint.
- `access_log_head.tree_size`: how far the stored tree goes. It starts at 0 on an existing log:
  the sequencer builds the tree from the chain in bounded batches as it runs, so this revision
  stays instant however long the log is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)
APPEND_ONLY_TABLES = ("access_log_tree_nodes", "access_log_tree_heads")


def _refuse_changes(table: str) -> None:
    """The append-only triggers, as revision 0001 installed them for the other log tables."""
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
    op.create_table(
        "access_log_tree_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "position", name=op.f("pk_access_log_tree_nodes")),
        # The primary key is the only way nodes are read: on SQLite it is the table itself.
        sqlite_with_rowid=False,
    )
    op.create_table(
        "access_log_tree_heads",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_access_log_tree_heads")),
    )
    for table in APPEND_ONLY_TABLES:
        _refuse_changes(table)
    op.add_column("access_log_head", sa.Column("tree_size", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("access_log_head") as batch:
        batch.drop_column("tree_size")
    # Dropping a table drops its triggers with it, on both dialects.
    op.drop_table("access_log_tree_heads")
    op.drop_table("access_log_tree_nodes")
