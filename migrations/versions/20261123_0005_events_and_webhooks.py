"""Events (the outbox), their recipients, consent expiry notices, webhook subscriptions, deliveries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
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


AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    txid_default = sa.text("(pg_current_xact_id()::text::bigint)") if postgres else sa.text("0")
    op.create_table(
        "events",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("txid", sa.BigInteger(), server_default=txid_default, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("actor_agency_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    op.create_table(
        "event_recipients",
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("txid", sa.BigInteger(), server_default=txid_default, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_event_recipients_agency_id_agencies")),
        sa.ForeignKeyConstraint(["event_pk"], ["events.id"], name=op.f("fk_event_recipients_event_pk_events")),
        sa.PrimaryKeyConstraint("event_pk", "agency_id", name=op.f("pk_event_recipients")),
    )
    op.create_index(
        "ix_event_recipients_agency_id_txid_event_pk", "event_recipients", ["agency_id", "txid", "event_pk"]
    )
    for table in ("events", "event_recipients"):
        _refuse_changes(table)

    op.create_table(
        "consent_expirations",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("noticed_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_consent_expirations_consent_id_consents")
        ),
        sa.PrimaryKeyConstraint("consent_id", name=op.f("pk_consent_expirations")),
    )
    op.create_index("ix_consents_valid_until", "consents", ["valid_until"])

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("deleted_at", UTC_DATETIME, nullable=True),
        sa.Column("position_txid", sa.BigInteger(), nullable=False),
        sa.Column("position_event_pk", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", UTC_DATETIME, nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_subscriptions_agency_id_agencies")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.client_id"], name=op.f("fk_subscriptions_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index("ix_subscriptions_client_id", "subscriptions", ["client_id"])
    op.create_index("ix_subscriptions_due", "subscriptions", ["status", "next_attempt_at"])

    op.create_table(
        "deliveries",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTC_DATETIME, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_deliveries_subscription_id_subscriptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index("ix_deliveries_subscription_id_id", "deliveries", ["subscription_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_subscription_id_id", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_subscriptions_due", table_name="subscriptions")
    op.drop_index("ix_subscriptions_client_id", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index("ix_consents_valid_until", table_name="consents")
    op.drop_table("consent_expirations")
    op.drop_index("ix_event_recipients_agency_id_txid_event_pk", table_name="event_recipients")
    op.drop_table("event_recipients")
    op.drop_table("events")
