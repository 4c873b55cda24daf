"""Children, concerns, consent records (append-only) and idempotency keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
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
    op.create_table(
        "children",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("personnummer", sa.String(length=12), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("is_coordination_number", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_children")),
        sa.UniqueConstraint("personnummer", name=op.f("uq_children_personnummer")),
    )
    op.create_table(
        "concerns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("observed_at", UTC_DATETIME, nullable=True),
        sa.Column("report_to_agency_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_history", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_concerns_agency_id_agencies")),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_concerns_child_id_children")),
        sa.ForeignKeyConstraint(
            ["report_to_agency_id"], ["agencies.id"], name=op.f("fk_concerns_report_to_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concerns")),
    )
    op.create_index("ix_concerns_child_id_created_at", "concerns", ["child_id", "created_at"])
    op.create_index("ix_concerns_agency_id_created_at", "concerns", ["agency_id", "created_at"])
    op.create_index("ix_concerns_report_to_agency_id", "concerns", ["report_to_agency_id"])
    op.create_index("ix_concerns_created_at_id", "concerns", ["created_at", "id"])

    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("granted_by", sa.JSON(), nullable=False),
        sa.Column("covers_concerns", sa.Boolean(), nullable=False),
        sa.Column("covers_assessments", sa.Boolean(), nullable=False),
        sa.Column("covers_teams", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("valid_from", UTC_DATETIME, nullable=False),
        sa.Column("valid_until", UTC_DATETIME, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_consents_agency_id_agencies")),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_consents_child_id_children")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_child_id_created_at", "consents", ["child_id", "created_at"])
    op.create_table(
        "consent_parties",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_consent_parties_agency_id_agencies")),
        sa.ForeignKeyConstraint(["consent_id"], ["consents.id"], name=op.f("fk_consent_parties_consent_id_consents")),
        sa.PrimaryKeyConstraint("consent_id", "agency_id", name=op.f("pk_consent_parties")),
    )
    op.create_index("ix_consent_parties_child_id_agency_id", "consent_parties", ["child_id", "agency_id"])
    op.create_table(
        "consent_withdrawals",
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("withdrawn_at", UTC_DATETIME, nullable=False),
        sa.Column("withdrawn_by", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_consent_withdrawals_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_consent_withdrawals_consent_id_consents")
        ),
        sa.PrimaryKeyConstraint("consent_id", name=op.f("pk_consent_withdrawals")),
    )
    for table in ("consents", "consent_parties", "consent_withdrawals"):
        _refuse_changes(table)

    op.create_table(
        "idempotency_keys",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("child_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("client_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("consent_withdrawals")
    op.drop_index("ix_consent_parties_child_id_agency_id", table_name="consent_parties")
    op.drop_table("consent_parties")
    op.drop_index("ix_consents_child_id_created_at", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_concerns_created_at_id", table_name="concerns")
    op.drop_index("ix_concerns_report_to_agency_id", table_name="concerns")
    op.drop_index("ix_concerns_agency_id_created_at", table_name="concerns")
    op.drop_index("ix_concerns_child_id_created_at", table_name="concerns")
    op.drop_table("concerns")
    op.drop_table("children")
