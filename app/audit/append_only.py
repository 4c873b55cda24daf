"""The triggers that make a table append-only, on both dialects (used by migrations).

UPDATE and DELETE are refused on SQLite and PostgreSQL, TRUNCATE too on PostgreSQL. They guard
against mistakes and casual tampering; the hash chain and signed checkpoints find what gets
past them, and a least-privilege role (deploy/postgres-least-privilege.sql) keeps the API
itself from even trying.
"""

from __future__ import annotations

from typing import Any

POSTGRES_REFUSE_FUNCTION = """
CREATE FUNCTION samhandling_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def install_refuse_function(op: Any) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_REFUSE_FUNCTION)


def drop_refuse_function(op: Any) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS samhandling_refuse_change()")


def refuse_changes(op: Any, table: str) -> None:
    """Install the triggers that make `table` append-only."""
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
