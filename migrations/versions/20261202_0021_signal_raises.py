"""Early-warning signals (issue 21): `signal_raises` remembers when `signal.raised` last went
out for a rule, a child and an agency, so that it goes out once within the rule's window. Its
primary key is what makes that hold when two writes for one child race. Signals themselves are
never stored: they are worked out for the reader from what it may see.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signal_raises",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("raised_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], name=op.f("fk_signal_raises_child_id_children")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_signal_raises_agency_id_agencies")),
        sa.PrimaryKeyConstraint("child_id", "agency_id", "rule", name=op.f("pk_signal_raises")),
    )


def downgrade() -> None:
    op.drop_table("signal_raises")
