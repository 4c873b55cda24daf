"""On PostgreSQL, `access_log` becomes a table partitioned by month on `at` (issue 24 point 1).

- The parent is declared `PARTITION BY RANGE (at)`; one partition per calendar month (UTC),
  named `access_log_pYYYY_MM`, plus `access_log_default` so that an insert can never fail for a
  month whose partition is missing. This revision creates the months of the rows already there,
  the current month and three ahead; `samhandling migrate` and the worker keep creating months
  ahead (app/audit/partitions.py).
- A partitioned table's primary key must contain the partition key: it is (id, at) here. `id`
  still comes from the same sequence, so it stays unique; nothing refers to `access_log` by
  foreign key (the chain holds `entry_id` as a plain unique column).
- Indexes are created on the parent (PostgreSQL creates them on every partition, now and later).
- The append-only row trigger is created on the parent, and PostgreSQL 15 clones it onto every
  partition. A TRUNCATE trigger does not propagate that way (a TRUNCATE of one partition fires
  only that partition's statement triggers), so each partition gets its own.
- Existing rows are copied with INSERT … SELECT in this transaction: fine for the sizes this
  revision meets today; a large log would be converted by attaching the old table instead.

SQLite is unchanged. Downgrade copies the rows back into a plain table with its primary key (id).

Revision ID: 0027
Revises: 0024
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import Connection, text

revision: str = "0027"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('access_log_id_seq'::regclass),
    txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    at timestamp with time zone NOT NULL,
    request_id varchar(128) NOT NULL,
    client_id varchar(128),
    agency_id varchar(64),
    role varchar(32),
    action varchar(64) NOT NULL,
    resource_type varchar(32),
    resource_id varchar(64),
    child_id uuid,
    method varchar(10) NOT NULL,
    route varchar(200),
    status_code smallint NOT NULL,
    outcome varchar(10) NOT NULL,
    jti varchar(64),
    purpose_of_use varchar(200),
    repeat_count integer,
    access_basis varchar(16),
    consent_id varchar(36)
"""
COLUMN_NAMES = (
    "id, txid, at, request_id, client_id, agency_id, role, action, resource_type, resource_id, child_id, "
    "method, route, status_code, outcome, jti, purpose_of_use, repeat_count, access_basis, consent_id"
)
INDEXES = {
    "ix_access_log_txid_id": "txid, id",
    "ix_access_log_child_id_txid_id": "child_id, txid, id",  # as revision 0023 left it
    "ix_access_log_client_id_at": "client_id, at",
    "ix_access_log_at": "at",
}
MONTHS_AHEAD = 3
OLD = "access_log_unpartitioned"


def _month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def _no_truncate(table: str) -> None:
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION samhandling_refuse_change()"
    )


def _create_months(connection: Connection, oldest: datetime | None) -> None:
    now = datetime.now(UTC)
    month = _month_start(min(oldest, now) if oldest else now)
    last = _month_start(now)
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    while month <= last:
        name = f"access_log_p{month:%Y_%m}"
        op.execute(
            f"CREATE TABLE {name} PARTITION OF access_log "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')"
        )
        _no_truncate(name)
        month = _next_month(month)


def _free_names(table: str) -> None:
    """Drop the old table's indexes and primary key so the new table can take their names."""
    for index in INDEXES:
        op.execute(f"DROP INDEX {index}")
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_access_log")
    op.execute("ALTER SEQUENCE access_log_id_seq OWNED BY NONE")


def _finish(primary_key: str) -> None:
    op.execute(f"INSERT INTO access_log ({COLUMN_NAMES}) SELECT {COLUMN_NAMES} FROM {OLD}")
    op.execute(f"DROP TABLE {OLD}")
    op.execute("ALTER SEQUENCE access_log_id_seq OWNED BY access_log.id")
    op.execute(f"ALTER TABLE access_log ADD CONSTRAINT pk_access_log PRIMARY KEY ({primary_key})")
    for index, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {index} ON access_log ({columns})")
    op.execute(
        "CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log "
        "FOR EACH ROW EXECUTE FUNCTION samhandling_refuse_change()"
    )
    _no_truncate("access_log")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE access_log RENAME TO {OLD}")
    _free_names(OLD)
    op.execute(f"CREATE TABLE access_log ({COLUMNS}) PARTITION BY RANGE (at)")
    oldest = connection.execute(text(f"SELECT min(at) FROM {OLD}")).scalar()
    _create_months(connection, oldest)
    op.execute("CREATE TABLE access_log_default PARTITION OF access_log DEFAULT")
    _no_truncate("access_log_default")
    _finish("id, at")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE access_log RENAME TO {OLD}")
    _free_names(OLD)
    op.execute(f"CREATE TABLE access_log ({COLUMNS})")
    # Dropping the parent drops every partition with it (and their triggers).
    _finish("id")
