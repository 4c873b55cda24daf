"""The child's plan (barnets plan, SIP): plans, goals, actions, reviews, and the notices that a
review fell due. Goals and reviews are append-only; an action keeps its status history in its
row (as a concern does).

Revision ID: 0020
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0009"
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


ACTIVE_PLAN = sa.text("status = 'active'")


def _agency(column: str, table: str, nullable: bool = False) -> tuple[sa.Column, sa.ForeignKeyConstraint]:
    return (
        sa.Column(column, sa.String(length=64), nullable=nullable),
        sa.ForeignKeyConstraint([column], ["agencies.id"], name=op.f(f"fk_{table}_{column}_agencies")),
    )


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        *_agency("agency_id", "plans"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("consent_id", sa.Uuid(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("child_views", sa.Text(), nullable=True),
        sa.Column("guardian_views", sa.Text(), nullable=True),
        sa.Column("next_review_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        *_agency("closed_by_agency_id", "plans", nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_plans_child_id_children")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_plans_team_id_teams")),
        sa.ForeignKeyConstraint(["consent_id"], ["consents.id"], name=op.f("fk_plans_consent_id_consents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_index(
        "uq_plans_one_active_per_child_agency",
        "plans",
        ["child_id", "agency_id"],
        unique=True,
        postgresql_where=ACTIVE_PLAN,
        sqlite_where=ACTIVE_PLAN,
    )
    op.create_index("ix_plans_child_id", "plans", ["child_id"])
    op.create_index("ix_plans_created_at_id", "plans", ["created_at", "id"])
    op.create_index("ix_plans_status_next_review_at", "plans", ["status", "next_review_at"])

    op.create_table(
        "plan_goals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("expressed_by", sa.String(length=16), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        *_agency("agency_id", "plan_goals"),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_plan_goals_plan_id_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_goals")),
    )
    op.create_index("ix_plan_goals_plan_id", "plan_goals", ["plan_id"])
    _refuse_changes("plan_goals")

    op.create_table(
        "plan_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("goal_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        *_agency("responsible_agency_id", "plan_actions"),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_history", sa.JSON(), nullable=False),
        *_agency("agency_id", "plan_actions"),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_plan_actions_plan_id_plans")),
        sa.ForeignKeyConstraint(["goal_id"], ["plan_goals.id"], name=op.f("fk_plan_actions_goal_id_plan_goals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_actions")),
    )
    op.create_index("ix_plan_actions_plan_id", "plan_actions", ["plan_id"])

    op.create_table(
        "plan_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("held_at", UTC_DATETIME, nullable=False),
        sa.Column("was_due_at", UTC_DATETIME, nullable=False),
        sa.Column("next_review_at", UTC_DATETIME, nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("child_views", sa.Text(), nullable=True),
        sa.Column("guardian_views", sa.Text(), nullable=True),
        *_agency("agency_id", "plan_reviews"),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_plan_reviews_plan_id_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_reviews")),
    )
    op.create_index("ix_plan_reviews_plan_id", "plan_reviews", ["plan_id"])
    _refuse_changes("plan_reviews")

    op.create_table(
        "plan_review_due_notices",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("noticed_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_plan_review_due_notices_plan_id_plans")),
        sa.PrimaryKeyConstraint("plan_id", "due_at", name=op.f("pk_plan_review_due_notices")),
    )


def downgrade() -> None:
    # Dropping a table drops its triggers with it (both dialects).
    op.drop_table("plan_review_due_notices")
    op.drop_index("ix_plan_reviews_plan_id", table_name="plan_reviews")
    op.drop_table("plan_reviews")
    op.drop_index("ix_plan_actions_plan_id", table_name="plan_actions")
    op.drop_table("plan_actions")
    op.drop_index("ix_plan_goals_plan_id", table_name="plan_goals")
    op.drop_table("plan_goals")
    op.drop_index("ix_plans_status_next_review_at", table_name="plans")
    op.drop_index("ix_plans_created_at_id", table_name="plans")
    op.drop_index("ix_plans_child_id", table_name="plans")
    op.drop_index("uq_plans_one_active_per_child_agency", table_name="plans")
    op.drop_table("plans")
