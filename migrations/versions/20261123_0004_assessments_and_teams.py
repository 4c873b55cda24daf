"""Compass assessments (append-only), teams and their members.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
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


OPEN_TEAM = sa.text("status = 'open'")
ACTIVE_SINGLE_ROLE = sa.text("ended_at IS NULL AND role IN ('contact_person', 'coordinator')")


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("perspective", sa.String(length=16), nullable=False),
        sa.Column("assessed_at", UTC_DATETIME, nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_assessments_agency_id_agencies")),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_assessments_child_id_children")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    op.create_index("ix_assessments_child_id_assessed_at", "assessments", ["child_id", "assessed_at"])
    op.create_index("ix_assessments_created_at_id", "assessments", ["created_at", "id"])
    _refuse_changes("assessments")

    op.create_table(
        "teams",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_teams_agency_id_agencies")),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_teams_child_id_children")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
    )
    op.create_index(
        "uq_teams_one_open_per_child",
        "teams",
        ["child_id"],
        unique=True,
        postgresql_where=OPEN_TEAM,
        sqlite_where=OPEN_TEAM,
    )
    op.create_index("ix_teams_child_id", "teams", ["child_id"])
    op.create_index("ix_teams_created_at_id", "teams", ["created_at", "id"])

    op.create_table(
        "team_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("person_title", sa.String(length=200), nullable=True),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.Column("added_by_agency_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_agency_id"], ["agencies.id"], name=op.f("fk_team_members_added_by_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_team_members_agency_id_agencies")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
    )
    op.create_index(
        "uq_team_members_one_active_per_role",
        "team_members",
        ["team_id", "role"],
        unique=True,
        postgresql_where=ACTIVE_SINGLE_ROLE,
        sqlite_where=ACTIVE_SINGLE_ROLE,
    )
    op.create_index("ix_team_members_team_id", "team_members", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_team_members_team_id", table_name="team_members")
    op.drop_index("uq_team_members_one_active_per_role", table_name="team_members")
    op.drop_table("team_members")
    op.drop_index("ix_teams_created_at_id", table_name="teams")
    op.drop_index("ix_teams_child_id", table_name="teams")
    op.drop_index("uq_teams_one_open_per_child", table_name="teams")
    op.drop_table("teams")
    op.drop_index("ix_assessments_created_at_id", table_name="assessments")
    op.drop_index("ix_assessments_child_id_assessed_at", table_name="assessments")
    op.drop_table("assessments")
