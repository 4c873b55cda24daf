"""The access log: append-only entries, the hash chain over them, its head and checkpoints.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)


POSTGRES_REFUSE_FUNCTION = """
CREATE FUNCTION samhandling_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _install_refuse_function() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_REFUSE_FUNCTION)


def _drop_refuse_function() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS samhandling_refuse_change()")


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


GENESIS_HASH = "0" * 64
APPEND_ONLY_TABLES = ("access_log", "access_log_chain", "access_log_checkpoints")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _install_refuse_function()
    # The inserting transaction's id orders entries for the sequencer (0 on SQLite, whose
    # single writer commits in id order anyway).
    txid_default = sa.text("(pg_current_xact_id()::text::bigint)") if postgres else sa.text("0")
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("txid", sa.BigInteger(), server_default=txid_default, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("child_id", sa.Uuid(), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=True),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("jti", sa.String(length=64), nullable=True),
        sa.Column("purpose_of_use", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index("ix_access_log_txid_id", "access_log", ["txid", "id"])
    op.create_index("ix_access_log_child_id_id", "access_log", ["child_id", "id"])
    op.create_index("ix_access_log_client_id_at", "access_log", ["client_id", "at"])
    op.create_index("ix_access_log_at", "access_log", ["at"])

    op.create_table(
        "access_log_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_log_chain")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_access_log_chain_entry_id")),
    )

    op.create_table(
        "access_log_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_log_checkpoints")),
    )
    for table in APPEND_ONLY_TABLES:
        _refuse_changes(table)

    head = op.create_table(
        "access_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("last_txid", sa.BigInteger(), nullable=False),
        sa.Column("last_entry_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH, "last_txid": -1, "last_entry_id": 0}])


def downgrade() -> None:
    op.drop_table("access_log_head")
    op.drop_table("access_log_checkpoints")
    op.drop_table("access_log_chain")
    op.drop_index("ix_access_log_at", table_name="access_log")
    op.drop_index("ix_access_log_client_id_at", table_name="access_log")
    op.drop_index("ix_access_log_child_id_id", table_name="access_log")
    op.drop_index("ix_access_log_txid_id", table_name="access_log")
    op.drop_table("access_log")
    _drop_refuse_function()
