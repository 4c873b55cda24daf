"""The access log's monthly partitions on PostgreSQL: created ahead of time, and listed.

Revision 0027 makes `access_log` a table partitioned by RANGE on `at`, one partition per UTC
calendar month (`access_log_pYYYY_MM`) and a DEFAULT partition that catches any entry whose
month has no partition yet, so an insert never fails for a missing month. Entries should still
land in their month, not in DEFAULT: a month's partition cannot be created while DEFAULT holds
rows of that month (PostgreSQL refuses, and the append-only triggers forbid moving them), and a
whole month can later be dropped in one statement only if it is its own partition (retention).
So `samhandling migrate` and the worker (daily) create the current and next months ahead.

SQLite keeps one plain table; every function here is a no-op there.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

logger = logging.getLogger(__name__)

PARENT = "access_log"
DEFAULT_PARTITION = "access_log_default"
MONTHS_AHEAD = 3
# Any constant works; it only has to be the same in every process that creates partitions.
PARTITIONS_LOCK_KEY = 7_214_004_373
# Creating a partition takes an ACCESS EXCLUSIVE lock on the parent. Queued behind a long
# transaction that reads the log, that request would in turn queue every insert behind it, so it
# gives up quickly instead; the months are created ahead, and the next call tries again.
LOCK_TIMEOUT = "2s"
_MONTHLY = re.compile(r"^access_log_p(\d{4})_(\d{2})$")
_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True, slots=True)
class LogPartition:
    name: str
    lower: datetime | None  # None for DEFAULT
    upper: datetime | None
    rows: int

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "from": self.lower.isoformat() if self.lower else None,
            "to": self.upper.isoformat() if self.upper else None,
            "default": self.lower is None,
            "rows": self.rows,
        }


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_p{start:%Y_%m}"


def is_log_partition(name: str) -> bool:
    """A partition of the log: a table the models do not declare (one per month, and DEFAULT)."""
    return name == DEFAULT_PARTITION or _MONTHLY.match(name) is not None


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    found = connection.execute(
        text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:parent)"), {"parent": PARENT}
    )
    return found.first() is not None


def ensure_log_partitions(connection: Connection, now: datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the partitions of `now`'s month and the `months_ahead` after it that are missing.

    Idempotent; runs in the connection's open transaction and returns the names it created. A
    month whose entries already went to DEFAULT is left there (with a warning): they stay
    readable and verifiable, only that month cannot get a partition of its own.
    """
    if not is_partitioned(connection):
        return []
    month = month_start(now)
    wanted = []
    for _ in range(months_ahead + 1):
        wanted.append(month)
        month = next_month(month)
    existing = set(_partition_names(connection))
    missing = [start for start in wanted if partition_name(start) not in existing]
    if not missing:  # the usual case: no lock taken at all
        return []
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITIONS_LOCK_KEY})
    existing = set(_partition_names(connection))  # another process may have been first
    created = []
    for start in missing:
        name = partition_name(start)
        if name in existing:
            continue
        if _default_holds(connection, start):
            logger.warning("entries of %s are in %s; that month keeps no partition of its own", name, DEFAULT_PARTITION)
            continue
        _create_partition(connection, name, start)
        created.append(name)
    return created


def _partition_names(connection: Connection) -> list[str]:
    rows = connection.execute(
        text("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = to_regclass(:parent)"),
        {"parent": PARENT},
    )
    return [str(name) for name in rows.scalars()]


def _default_holds(connection: Connection, start: datetime) -> bool:
    found = connection.execute(
        text(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE at >= :lower AND at < :upper LIMIT 1"),
        {"lower": start, "upper": next_month(start)},
    )
    return found.first() is not None


def _create_partition(connection: Connection, name: str, start: datetime) -> None:
    # The names and bounds come from dates formatted here, never from input.
    connection.execute(
        text(
            f"CREATE TABLE {name} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{next_month(start).isoformat()}')"
        )
    )
    # Row triggers (UPDATE, DELETE) are cloned from the parent; a TRUNCATE of one partition fires
    # only that partition's own statement triggers, so it gets one.
    connection.execute(
        text(
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION samhandling_refuse_change()"
        )
    )


def list_log_partitions(connection: Connection, *, exact: bool = True) -> list[LogPartition]:
    """Every partition with its bounds, oldest first, DEFAULT last; rows counted, or estimated
    from the planner's statistics (`exact=False`: no scan, for a large log)."""
    if not is_partitioned(connection):
        return []
    rows = connection.execute(
        text(
            "SELECT child.relname, pg_get_expr(child.relpartbound, child.oid) AS bound, child.reltuples "
            "FROM pg_inherits JOIN pg_class AS child ON child.oid = pg_inherits.inhrelid "
            "WHERE pg_inherits.inhparent = to_regclass(:parent)"
        ),
        {"parent": PARENT},
    ).all()
    partitions = []
    for name, bound, estimate in rows:
        lower, upper = _parse_bound(bound)
        if exact:
            count = int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
        else:
            count = max(int(estimate), 0)  # -1: never analysed
        partitions.append(LogPartition(name, lower, upper, count))
    far_future = datetime.max.replace(tzinfo=UTC)
    return sorted(partitions, key=lambda partition: partition.lower or far_future)


def _parse_bound(bound: str) -> tuple[datetime | None, datetime | None]:
    match = _BOUNDS.search(bound)
    if match is None:  # "DEFAULT"
        return None, None
    lower, upper = (datetime.fromisoformat(value).astimezone(UTC) for value in match.groups())
    return lower, upper
