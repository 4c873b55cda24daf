"""Hardening (issue 16): reserved client-authentication attempts; aggregated anonymous denials.

`auth_attempts` holds the login throttle's reservations (app/security/login_throttle.py).
`access_log.repeat_count` lets one entry stand for a run of identical anonymous denials; NULL —
every existing entry — means one request, and such entries keep their exact hash (the hash
covers extension fields only when set: app/audit/chain.py). Adding a nullable column rewrites
nothing, so the append-only triggers stay as they are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "auth_attempts",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_attempts")),
    )
    op.create_index("ix_auth_attempts_client_key_at", "auth_attempts", ["client_key", "at"])
    op.create_index("ix_auth_attempts_address_key_at", "auth_attempts", ["address_key", "at"])
    op.create_index("ix_auth_attempts_at", "auth_attempts", ["at"])
    op.add_column("access_log", sa.Column("repeat_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("access_log", "repeat_count")
    op.drop_index("ix_auth_attempts_at", table_name="auth_attempts")
    op.drop_index("ix_auth_attempts_address_key_at", table_name="auth_attempts")
    op.drop_index("ix_auth_attempts_client_key_at", table_name="auth_attempts")
    op.drop_table("auth_attempts")
