"""Consent confirmation by the disclosing agency; platform admins; one open team per circle;
events that are not about a child (client.created, client.revoked).

- `consent_confirmations` (append-only): a named agency's confirmation of a consent. A consent
  opens an agency's records only once that agency has confirmed it. Consents recorded under v1
  were confirmed by nobody but their recorder, so only the recorder's party is confirmed here
  (at the consent's `created_at`); every other party must confirm anew.
- `clients.platform`: a platform admin manages every agency; every existing admin becomes an
  admin of its own agency only (the operator makes platform admins with the CLI).
- Teams: one open team per child *and agency* in the database; the wider rule (one per circle of
  agencies that can see each other's teams) is enforced by the service under a row lock.
- `events.record_id` holds text (a client id for client events) and `child_id` may be null.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_TEAM = sa.text("status = 'open'")
# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)


def _refuse_changes(table: str) -> None:
    """The append-only triggers, as revision 0001 installed them for the other tables."""
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


def _allow_changes(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        return
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")


def upgrade() -> None:
    op.create_table(
        "consent_confirmations",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id", "agency_id"],
            ["consent_parties.consent_id", "consent_parties.agency_id"],
            name=op.f("fk_consent_confirmations_consent_id_consent_parties"),
        ),
        sa.PrimaryKeyConstraint("consent_id", "agency_id", name=op.f("pk_consent_confirmations")),
    )
    op.execute(
        "INSERT INTO consent_confirmations (consent_id, agency_id, confirmed_at) "
        "SELECT parties.consent_id, parties.agency_id, consents.created_at "
        "FROM consent_parties AS parties JOIN consents ON consents.id = parties.consent_id "
        "AND consents.agency_id = parties.agency_id"
    )
    _refuse_changes("consent_confirmations")

    op.add_column("clients", sa.Column("platform", sa.Boolean(), server_default=sa.false(), nullable=False))

    op.drop_index("uq_teams_one_open_per_child", table_name="teams")
    op.create_index(
        "uq_teams_one_open_per_child_agency",
        "teams",
        ["child_id", "agency_id"],
        unique=True,
        postgresql_where=OPEN_TEAM,
        sqlite_where=OPEN_TEAM,
    )

    _allow_changes("events")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "events",
            "record_id",
            type_=sa.String(length=64),
            existing_nullable=False,
            postgresql_using="record_id::text",
        )
        op.alter_column("events", "child_id", existing_type=sa.Uuid(), nullable=True)
    else:
        # SQLite stores a Uuid as 32 hex digits; text ids are the hyphenated form the API shows.
        # The table is rebuilt (migrations run with foreign keys off on SQLite, see env.py).
        with op.batch_alter_table("events", recreate="always") as batch:
            batch.alter_column("record_id", type_=sa.String(length=64), existing_nullable=False)
            batch.alter_column("child_id", existing_type=sa.Uuid(), nullable=True)
        op.execute(
            "UPDATE events SET record_id = lower(substr(record_id, 1, 8) || '-' || substr(record_id, 9, 4) || '-' "
            "|| substr(record_id, 13, 4) || '-' || substr(record_id, 17, 4) || '-' || substr(record_id, 21)) "
            "WHERE length(record_id) = 32"
        )
    _refuse_changes("events")


def downgrade() -> None:
    # Client events have no child and no UUID: they cannot exist in the older form.
    for table in ("events", "event_recipients"):
        _allow_changes(table)
    client_events = "SELECT id FROM events WHERE record_type = 'client'"
    op.execute(f"DELETE FROM event_recipients WHERE event_pk IN ({client_events})")
    op.execute("DELETE FROM events WHERE record_type = 'client'")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("events", "child_id", existing_type=sa.Uuid(), nullable=False)
        op.alter_column(
            "events", "record_id", type_=sa.Uuid(), existing_nullable=False, postgresql_using="record_id::uuid"
        )
    else:
        op.execute("UPDATE events SET record_id = replace(record_id, '-', '')")
        with op.batch_alter_table("events", recreate="always") as batch:
            batch.alter_column("child_id", existing_type=sa.Uuid(), nullable=False)
            batch.alter_column("record_id", type_=sa.Uuid(), existing_nullable=False)
    for table in ("events", "event_recipients"):
        _refuse_changes(table)

    op.drop_index("uq_teams_one_open_per_child_agency", table_name="teams")
    op.create_index(
        "uq_teams_one_open_per_child",
        "teams",
        ["child_id"],
        unique=True,
        postgresql_where=OPEN_TEAM,
        sqlite_where=OPEN_TEAM,
    )
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("platform")
    op.drop_table("consent_confirmations")
