"""Consent may cover two more kinds of record: the child's plan (`plans`) and the counts that
early-warning signals use (`signals`). Existing consents cover neither: the family agreed to
what they list, nothing more.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("covers_plans", "covers_signals")


def upgrade() -> None:
    for column in COLUMNS:
        # Adding a column is not an UPDATE: the append-only triggers on consents stay as they are.
        op.add_column("consents", sa.Column(column, sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
