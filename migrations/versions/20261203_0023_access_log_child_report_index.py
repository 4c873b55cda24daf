"""The child's access report reads one index (issue 24): `access_log (child_id, txid, id)`.

The report filters on the entry's `child_id` and pages in chain order. Chain order is commit
order — the sequencer links entries in (txid, id) order (app/audit/sequencer.py) — so ordered by
(txid, id) a page is one range of this index and `limit` lookups of its links, where ordering by
the chain's `seq` walked the chain from its start (4.9 M links for a hot child's first page at
5 M entries). It replaces `ix_access_log_child_id_id`, whose every use (child_id equality) this
one serves too, so the log keeps one index per child and not two.

Built in the migration's transaction: on PostgreSQL that blocks new log entries while it runs,
so on a large log run it in a maintenance window. The build may outrun the service's statement
timeout, which migrations inherit, hence the local one for this transaction.

Revision ID: 0023
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _no_statement_timeout() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET LOCAL statement_timeout = 0")


def upgrade() -> None:
    _no_statement_timeout()
    op.create_index("ix_access_log_child_id_txid_id", "access_log", ["child_id", "txid", "id"])
    op.drop_index("ix_access_log_child_id_id", table_name="access_log")


def downgrade() -> None:
    _no_statement_timeout()
    op.create_index("ix_access_log_child_id_id", "access_log", ["child_id", "id"])
    op.drop_index("ix_access_log_child_id_txid_id", table_name="access_log")
