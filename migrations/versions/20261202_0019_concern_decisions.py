"""Feedback to the one who reported (återkoppling): social services' decision on a mandatory
report, its deadline, and the mark that the worker announced a missed deadline.

- `concerns.decision`, `decided_at`, `decision_agency_id`: the reported-to agency's decision —
  `investigation_opened`, `not_opened` or `already_ongoing` — recorded once, never rewritten.
- `concerns.decision_due_at`: `created_at` + 14 days for a mandatory report, the deadline social
  services works to (SoL 11 kap. 1 a §); null for other concerns. Mandatory reports made before
  this revision get theirs from their own `created_at`.
- `concerns.decision_overdue_at`: when `concern.decision_overdue` was published (once).

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)
DECISION_PERIOD = timedelta(days=14)


def upgrade() -> None:
    with op.batch_alter_table("concerns") as batch:
        batch.add_column(sa.Column("decision", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("decided_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("decision_agency_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("decision_due_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("decision_overdue_at", UTC_DATETIME, nullable=True))
        batch.create_foreign_key(
            op.f("fk_concerns_decision_agency_id_agencies"), "agencies", ["decision_agency_id"], ["id"]
        )
        batch.create_index(op.f("ix_concerns_decision_due_at"), ["decision_due_at"])
    _backfill_deadlines()


def _backfill_deadlines() -> None:
    """Each earlier mandatory report's deadline from its own `created_at`, computed here in
    Python rather than SQL: the two dialects store and add timestamps differently."""
    concerns = sa.table(
        "concerns",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", UTC_DATETIME),
        sa.column("decision_due_at", UTC_DATETIME),
        sa.column("report_to_agency_id", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(concerns.c.id, concerns.c.created_at).where(concerns.c.report_to_agency_id.is_not(None))
    ).all()
    update = (
        sa.update(concerns)
        .where(concerns.c.id == sa.bindparam("concern_id"))
        .values(decision_due_at=sa.bindparam("due_at"))
    )
    batch = [{"concern_id": row.id, "due_at": row.created_at + DECISION_PERIOD} for row in rows]
    if batch:
        connection.execute(update, batch)


def downgrade() -> None:
    with op.batch_alter_table("concerns") as batch:
        batch.drop_index(op.f("ix_concerns_decision_due_at"))
        batch.drop_constraint(op.f("fk_concerns_decision_agency_id_agencies"), type_="foreignkey")
        for column in ("decision_overdue_at", "decision_due_at", "decision_agency_id", "decided_at", "decision"):
            batch.drop_column(column)
