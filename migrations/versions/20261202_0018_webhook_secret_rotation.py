"""Webhook secret rotation (issue 18): the previous secret, valid until its grace period ends.

- `subscriptions.previous_secret_ciphertext`: the secret before the last rotation, sealed like
  the current one (app/events/secret_box.py); deliveries are signed with it too until
- `subscriptions.previous_secret_expires_at`. Both NULL when the secret was never rotated.

Revision ID: 0018
Revises: 0022
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("previous_secret_ciphertext", sa.Text(), nullable=True))
    op.add_column("subscriptions", sa.Column("previous_secret_expires_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret_ciphertext")
