"""The chain's links carry their entry's time (`access_log_chain.at`), so a join finds the entry's
partition at once.

Since revision 0027 the log is partitioned by month on `at`; a link names its entry by `id`
alone, so every join from the chain to the log (verification's walk, the auditor's pages in chain
order, the log review's sample) probed every month's partition for each link — a cost growing
with the months kept (measured: at 5 partitions the walk spent most of its time on empty
probes). With the entry's `at` on the link, the join condition `e.id = c.entry_id AND e.at = c.at`
lets PostgreSQL prune to the one partition that can hold the entry, per link, at run time.

`at` is copied by the sequencer when it chains an entry, and filled here for the links already
there (the chain's append-only trigger is held off for that one statement). It is not hashed:
the entry's own `at` is, so the hash form is unchanged. A link whose `at` does not match its
entry's is found by verification (app/audit/verify.py).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported from the app) so that this revision never changes with the app.
UTC_DATETIME = sa.DateTime(timezone=True)
SQLITE_NO_UPDATE = (
    "CREATE TRIGGER access_log_chain_no_update BEFORE UPDATE ON access_log_chain BEGIN "
    "SELECT RAISE(ABORT, 'UPDATE on access_log_chain is refused: the table is append-only'); END"
)


def upgrade() -> None:
    op.add_column("access_log_chain", sa.Column("at", UTC_DATETIME, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE access_log_chain DISABLE TRIGGER access_log_chain_append_only")
        op.execute("UPDATE access_log_chain c SET at = e.at FROM access_log e WHERE e.id = c.entry_id")
        op.execute("ALTER TABLE access_log_chain ENABLE TRIGGER access_log_chain_append_only")
        return
    op.execute("DROP TRIGGER access_log_chain_no_update")
    op.execute(
        "UPDATE access_log_chain SET at = (SELECT e.at FROM access_log e WHERE e.id = access_log_chain.entry_id)"
    )
    op.execute(SQLITE_NO_UPDATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("access_log_chain", "at")
        return
    op.execute("DROP TRIGGER access_log_chain_no_update")
    with op.batch_alter_table("access_log_chain") as batch:
        batch.drop_column("at")
    op.execute(SQLITE_NO_UPDATE)
