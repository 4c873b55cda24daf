"""Retention of the access log itself (issue 24 point 2): whole months dropped, never entries.

`SAMHANDLING_RETENTION_ACCESS_LOG_DAYS` (unset: keep everything; at least five years, as
PDL and HSLF-FS 2016:40 ask of a health-care access log) makes a month of the log due once the
whole month lies that many days back. A due month is dropped — its partition detached and
dropped in one transaction (PostgreSQL; SQLite keeps one table and has no log retention) —
only when

* every entry in it is chained (the sequencer has numbered it), and
* a checkpoint signed by the service lies after its last entry in the chain, with its signed
  tree head, so the daily verification starts from that checkpoint and never needs the month.

Months go oldest first: a month that waits holds back the later ones, so what remains of the
log is always its newer end. What stays after a drop is what holds no content: the chain's
links, the Merkle tree's nodes, the checkpoints and tree heads. A signed row in
`access_log_retirements` (migration 0028) says which chain positions went — the span of the
month's entries, less the positions in it held by a neighbouring month's entries that committed
in between (`kept_seqs`) — so `audit verify --full` still walks every link from the genesis,
checks the links and the tree over the dropped span, and tells entries dropped by retention
from entries deleted by anyone else (app/audit/verify.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, text

from app.audit.chain import format_at
from app.audit.checkpoints import jws_state, load_checkpoints
from app.audit.partitions import (
    LOCK_TIMEOUT,
    PARENT,
    PARTITIONS_LOCK_KEY,
    is_partitioned,
    list_log_partitions,
)
from app.audit.queries import CHAIN_TO_LOG_SQL
from app.audit.tree_heads import load_tree_heads
from app.audit.verify_start import candidates
from app.models.audit import AccessLogRetirement, ChainHead
from app.models.base import table_of, utcnow
from app.security.keys import KeyRing

# A month whose span in the chain holds more of other months' entries than this waits: its
# record would be too large to sign and check (commit order and time order differ by seconds).
MAX_KEPT_SEQS = 10_000
_retirements = table_of(AccessLogRetirement)
_head = table_of(ChainHead)


@dataclass(frozen=True)
class Retirement:
    """One dropped month, as signed (see the module docstring)."""

    partition: str
    month_from: datetime
    month_to: datetime
    first_seq: int
    last_seq: int
    entries: int
    kept_seqs: tuple[int, ...]
    checkpoint_seq: int
    retired_at: datetime
    kid: str = ""
    signature: str = ""

    def payload(self) -> bytes:
        return orjson.dumps(
            {
                "partition": self.partition,
                "month_from": format_at(self.month_from),
                "month_to": format_at(self.month_to),
                "first_seq": self.first_seq,
                "last_seq": self.last_seq,
                "entries": self.entries,
                "kept_seqs": list(self.kept_seqs),
                "checkpoint_seq": self.checkpoint_seq,
                "retired_at": format_at(self.retired_at),
            },
            option=orjson.OPT_SORT_KEYS,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "from": format_at(self.month_from),
            "to": format_at(self.month_to),
            "entries": self.entries,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "checkpoint_seq": self.checkpoint_seq,
            "retired_at": format_at(self.retired_at),
        }


def retirement_state(keys: KeyRing | None, retirement: Retirement) -> str:
    """`valid`, `invalid` or `unknown-key`, as for a checkpoint."""
    return jws_state(keys, retirement.kid, retirement.signature, retirement.payload())


def load_retirements(connection: Connection) -> list[Retirement]:
    rows = connection.execute(select(_retirements).order_by(_retirements.c.first_seq)).all()
    return [
        Retirement(
            row.partition,
            row.month_from,
            row.month_to,
            row.first_seq,
            row.last_seq,
            row.entries,
            tuple(int(seq) for seq in row.kept_seqs),
            row.checkpoint_seq,
            row.retired_at,
            row.kid,
            row.signature,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class MonthDecision:
    """Whether one month past retention can be dropped now, and if not, what it waits for."""

    partition: str
    month_from: datetime
    month_to: datetime
    entries: int
    first_seq: int
    last_seq: int
    checkpoint_seq: int | None
    waits: str | None

    @property
    def due(self) -> bool:
        return self.waits is None

    def summary(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "from": format_at(self.month_from),
            "to": format_at(self.month_to),
            "entries": self.entries,
            "due": self.due,
            "waits": self.waits,
        }


def past_retention(connection: Connection, keys: KeyRing | None, days: int, now: datetime) -> list[MonthDecision]:
    """The months wholly older than `days` before `now`, oldest first, each with its decision.

    Empty on SQLite and on a log that is not partitioned. Reads only."""
    if not is_partitioned(connection):
        return []
    cutoff = now - timedelta(days=days)
    months = [
        partition
        for partition in list_log_partitions(connection, exact=False)
        if partition.upper is not None and partition.lower is not None and partition.upper <= cutoff
    ]
    if not months:
        return []
    head = connection.execute(select(_head.c.seq, _head.c.tree_size).where(_head.c.id == 1)).one()
    usable = candidates(
        keys,
        load_checkpoints(connection),
        load_tree_heads(connection),
        head_seq=head.seq,
        tree_size=head.tree_size,
    )
    latest = next((checkpoint.seq for checkpoint in usable if _entry_exists(connection, checkpoint.seq)), None)
    decisions: list[MonthDecision] = []
    for month in months:
        assert month.lower is not None
        assert month.upper is not None
        entries, chained, first_seq, last_seq = _chain_span(connection, month.name)
        waits = None
        if decisions and not decisions[-1].due:
            waits = f"an older month ({decisions[-1].partition}) waits: months go oldest first"
        elif chained < entries:
            waits = f"{entries - chained} of its entries are not chained yet"
        elif entries and last_seq - first_seq + 1 - entries > MAX_KEPT_SEQS:
            waits = f"its entries interleave in the chain with more than {MAX_KEPT_SEQS} of other months'"
        elif entries and (latest is None or latest <= last_seq):
            waits = (
                f"no signed checkpoint after its last entry (chain position {last_seq}) yet: "
                "`samhandling audit verify` signs one"
            )
        decisions.append(
            MonthDecision(month.name, month.lower, month.upper, entries, first_seq, last_seq, latest, waits)
        )
    return decisions


def retire_month(connection: Connection, keys: KeyRing, partition: str, days: int, now: datetime) -> Retirement | None:
    """Drop `partition` if it is still due, in the connection's open transaction; None if not.

    Records the signed retirement first, then detaches and drops the partition: all of it
    commits together or not at all. Detaching locks the whole log for a moment, so the wait for
    that lock is bounded (a long reader makes this give up; the next day's pass tries again)."""
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITIONS_LOCK_KEY})
    decision = next(
        (month for month in past_retention(connection, keys, days, now) if month.partition == partition), None
    )
    if decision is None or not decision.due:
        return None
    kept = _kept_seqs(connection, decision)
    if kept is None:
        return None
    unsigned = Retirement(
        partition=decision.partition,
        month_from=decision.month_from,
        month_to=decision.month_to,
        first_seq=decision.first_seq,
        last_seq=decision.last_seq,
        entries=decision.entries,
        kept_seqs=kept,
        checkpoint_seq=decision.checkpoint_seq or 0,
        retired_at=utcnow(),
    )
    key = keys.current
    signature = key.sign_compact(unsigned.payload(), {"typ": "log-retirement+jws"})
    retirement = Retirement(**{**unsigned.__dict__, "kid": key.kid, "signature": signature})
    connection.execute(
        insert(_retirements).values(
            partition=retirement.partition,
            month_from=retirement.month_from,
            month_to=retirement.month_to,
            first_seq=retirement.first_seq,
            last_seq=retirement.last_seq,
            entries=retirement.entries,
            kept_seqs=list(retirement.kept_seqs),
            checkpoint_seq=retirement.checkpoint_seq,
            retired_at=retirement.retired_at,
            kid=retirement.kid,
            signature=retirement.signature,
        )
    )
    # The name comes from pg_inherits and matched access_log_pYYYY_MM (partitions.py), never input.
    connection.execute(text(f'ALTER TABLE {PARENT} DETACH PARTITION "{partition}"'))
    connection.execute(text(f'DROP TABLE "{partition}"'))
    return retirement


def _entry_exists(connection: Connection, seq: int) -> bool:
    found = connection.execute(
        text(f"SELECT 1 FROM access_log_chain c JOIN access_log e ON {CHAIN_TO_LOG_SQL} WHERE c.seq = :seq"),
        {"seq": seq},
    )
    return found.first() is not None


def _chain_span(connection: Connection, partition: str) -> tuple[int, int, int, int]:
    """Entries in the month, how many are chained, and the first and last chain position."""
    row = connection.execute(
        text(
            f'SELECT count(*), count(c.seq), coalesce(min(c.seq), 0), coalesce(max(c.seq), 0) FROM "{partition}" e '
            "LEFT JOIN access_log_chain c ON c.entry_id = e.id"
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _kept_seqs(connection: Connection, decision: MonthDecision) -> tuple[int, ...] | None:
    """The positions in the month's span whose entries are another month's (None: too many)."""
    if not decision.entries:
        return ()
    others = decision.last_seq - decision.first_seq + 1 - decision.entries
    if others == 0:  # the usual case: the span is the month's alone, no scan needed
        return ()
    if others > MAX_KEPT_SEQS:
        return None
    rows = connection.execute(
        text(
            "SELECT c.seq FROM access_log_chain c WHERE c.seq BETWEEN :first AND :last "
            f'AND NOT EXISTS (SELECT 1 FROM "{decision.partition}" e WHERE e.id = c.entry_id) ORDER BY c.seq'
        ),
        {"first": decision.first_seq, "last": decision.last_seq},
    )
    return tuple(int(seq) for seq in rows.scalars())
