"""Verification at scale (issue 24 point 5), measured on PostgreSQL: the hot child's access
report with the index it reads, and a day's incremental verification against a full one.

A scratch database gets N chained entries by COPY (bench/seed.py `seed_log`, chained like the
real path): a tenth of them about one hot child, the rest spread over ordinary children. Then:

1. The access report's first page and a page from the middle of the hot child's history, and a
   typical child's first page, read through app/audit/reports.py `child_entries` as the route
   does — next to the same page ordered by the chain's `seq` (the query before migration 0023).
   Median of several reads each, in ms, and whether PostgreSQL's plan (EXPLAIN ANALYZE of the
   statement the app sent) reads `ix_access_log_child_id_txid_id`.
2. `run_verification` in full (which signs a checkpoint), then a "day" of D more entries, then
   incremental as `samhandling audit verify` runs it: entries checked and seconds.

3. The log review of one day (app/audit/review.py `review_day`, as the endpoint runs it: every
   entry of the day keyed for the sample, and the three rules), and the bytes per entry on disk
   (the log's partitions, the chain and the Merkle tree's nodes, indexes included).

The seeded entries are one a second up to now, in their months' partitions (made ahead here as
`samhandling migrate` and the worker would have made them over those months).

Usage:

  .venv/bin/python bench/child_report.py [--entries 1000000] [--day 20000] [--reads 7] [--plans]
                                         [--no-before]   (skip the by-seq comparison: minutes at 10⁷)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from app.audit import reports  # noqa: E402
from app.audit.partitions import MONTHS_AHEAD, ensure_log_partitions, month_start  # noqa: E402
from app.audit.queries import chain, chained_entries, log  # noqa: E402
from app.audit.review import ReviewRules, review_day  # noqa: E402
from app.audit.verify import run_verification  # noqa: E402
from app.db import create_api_engine, create_sync_engine  # noqa: E402
from app.security.keys import KeyRing, ensure_signing_key  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.merkle import scratch_database  # noqa: E402
from bench.seed import seed_log  # noqa: E402

INDEX = "ix_access_log_child_id_txid_id"
# On PostgreSQL each monthly partition has its own copy of the index, named by the partition
# (access_log_p2026_12_child_id_txid_id_idx); the plan names those.
INDEX_COPY = "_child_id_txid_id_idx"
PAGE = 50


def partitions_for(settings: Settings, seconds: int) -> list[str]:
    """The monthly partitions for entries one a second over the last `seconds` (and ahead)."""
    now = datetime.now(UTC)
    first = month_start(now - timedelta(seconds=seconds))
    months = (now.year - first.year) * 12 + now.month - first.month + MONTHS_AHEAD
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            return ensure_log_partitions(connection, first, months_ahead=months)
    finally:
        engine.dispose()


def bytes_per_entry(url: str) -> tuple[int, float]:
    """Entries, and bytes on disk per entry: the log (every partition), chain and tree, with indexes."""
    with psycopg.connect(url) as connection:
        (entries,) = connection.execute("SELECT count(*) FROM access_log").fetchone() or (0,)
        (size,) = connection.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' AND "
            "(c.relname LIKE 'access_log_p%' OR c.relname IN "
            "('access_log_default', 'access_log', 'access_log_chain', 'access_log_tree_nodes'))"
        ).fetchone() or (0,)
    return int(entries), int(size or 0) / max(int(entries), 1)


async def review_figures(settings: Settings, reads: int) -> None:
    """A log review of yesterday (a full day of entries, one a second), as the endpoint runs it."""
    rules = ReviewRules.from_settings(settings)
    yesterday = (datetime.now(rules.timezone) - timedelta(days=1)).date()
    engine = create_api_engine(settings)
    times, day_entries = [], 0
    try:
        for attempt in range(reads):
            async with AsyncSession(engine) as session:
                started = time.perf_counter()
                review = await review_day(session, rules, yesterday, f"bench-{attempt}", 25)
                times.append((time.perf_counter() - started) * 1000)
                day_entries = review.day_entries
    finally:
        await engine.dispose()
    print(f"\nlog review of one day ({day_entries} entries, sample 25): {statistics.median(times):.0f} ms median")


def seed(url: str, entries: int, hot: uuid.UUID, ordinary: list[uuid.UUID]) -> float:
    """A log of ordinary children; then a stretch where one child is read a lot (the hot child:
    one entry in ten there, entries/100 in all); then ordinary children again. The hot child's
    entries lie late in the log and end before it does: the cases a walk in chain order is slow
    for (its first page behind every earlier entry, its last page followed by every later one)."""
    started = time.perf_counter()
    seed_log(url, entries, ordinary)
    seed_log(url, entries // 10, [hot, *ordinary[:9]])
    seed_log(url, entries // 10, ordinary)
    with psycopg.connect(url, autocommit=True) as connection:
        # What autovacuum does on its own after bulk inserts: statistics and the visibility map.
        connection.execute("VACUUM ANALYZE access_log")
        connection.execute("VACUUM ANALYZE access_log_chain")
    return time.perf_counter() - started


class Reads:
    """Times report pages through the app's query and keeps the last SQL it sent, for EXPLAIN."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_api_engine(settings)
        self.sent: list[tuple[str, Any]] = []
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._capture)

    def _capture(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        self.sent.append((statement, parameters))

    async def new(self, child: uuid.UUID, after: int | None) -> int:
        async with AsyncSession(self.engine) as session:
            return len(await reports.child_entries(session, child, after=after, limit=PAGE))

    async def old(self, child: uuid.UUID, after: int | None) -> int:
        """The same page ordered by the chain's seq (reports.py before migration 0023)."""
        statement = chained_entries().where(log.c.child_id == child)
        if after is not None:
            statement = statement.where(chain.c.seq > after)
        async with AsyncSession(self.engine) as session:
            return len((await session.execute(statement.order_by(chain.c.seq).limit(PAGE + 1))).all())

    async def median_ms(self, which: str, child: uuid.UUID, after: int | None, reads: int) -> tuple[float, int]:
        read = self.new if which == "new" else self.old
        times, rows = [], 0
        for _ in range(reads):
            started = time.perf_counter()
            rows = await read(child, after)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times), rows

    async def plan(self) -> list[str]:
        """EXPLAIN ANALYZE of the page statement last sent (the one with LIMIT)."""
        statement, parameters = next(sent for sent in reversed(self.sent) if "LIMIT" in sent[0])
        async with self.engine.connect() as connection:
            result = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            return [row[0] for row in result]


def seq_at(url: str, child: uuid.UUID, fraction: float) -> int:
    """The seq of the child's entry that far through its history (0.5: the middle)."""
    with psycopg.connect(url) as connection:
        (count,) = connection.execute("SELECT count(*) FROM access_log WHERE child_id = %s", (child,)).fetchone() or (
            0,
        )
        row = connection.execute(
            "SELECT c.seq FROM access_log e JOIN access_log_chain c ON c.entry_id = e.id WHERE e.child_id = %s "
            "ORDER BY e.txid, e.id OFFSET %s LIMIT 1",
            (child, min(count - 1, int(count * fraction))),
        ).fetchone()
        assert row is not None
        return int(row[0])


async def report_figures(url: str, settings: Settings, hot: uuid.UUID, typical: uuid.UUID, args: Any) -> None:
    reads = Reads(settings)
    cases = [
        ("hot child, first page", hot, None),
        ("hot child, middle page", hot, seq_at(url, hot, 0.5)),
        ("hot child, last page", hot, seq_at(url, hot, 0.999)),
        ("typical child, first page", typical, None),
    ]
    print(f"| page ({PAGE} entries) | by (txid, id), index {INDEX} | by seq (before) | plan reads the index |")
    print("|---|---|---|---|")
    plans = []
    for name, child, after in cases:
        old_ms = float("nan")
        if not args.no_before:
            old_ms, _ = await reads.median_ms("old", child, after, args.reads)
        new_ms, rows = await reads.median_ms("new", child, after, args.reads)
        plan = await reads.plan()
        plans.append((name, plan))
        uses = any(INDEX in line or INDEX_COPY in line for line in plan)
        print(f"| {name} | {new_ms:.1f} ms ({rows} rows) | {old_ms:.1f} ms | {'yes' if uses else 'NO'} |")
    if args.plans:
        for name, plan in plans:
            print(f"\n{name}:\n" + "\n".join(f"    {line}" for line in plan))
    await reads.engine.dispose()


def verify_figures(url: str, settings: Settings, keys: KeyRing, day: int, children: list[uuid.UUID]) -> None:
    full = run_verification(settings, keys)  # signs the checkpoint the next run starts from
    assert full.valid, full.reason
    seed_log(url, day, children)
    incremental = run_verification(settings, keys, incremental=True)
    assert incremental.valid, incremental.reason
    print("\n| verification | entries checked | from seq | seconds |")
    print("|---|---|---|---|")
    print(f"| full | {full.entries} | 0 | {full.seconds:.2f} |")
    print(
        f"| incremental, a day of {day} | {incremental.entries} | {incremental.from_seq} | {incremental.seconds:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--day", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=7)
    parser.add_argument("--plans", action="store_true", help="print the EXPLAIN ANALYZE plans")
    parser.add_argument("--no-before", action="store_true", help="skip the page ordered by seq (the query before 0023)")
    args = parser.parse_args()
    hot, ordinary = uuid.uuid4(), [uuid.uuid4() for _ in range(2000)]
    with scratch_database("postgresql") as url:
        key_file = Path(f"/tmp/bench-child-report-{uuid.uuid4().hex[:8]}.pem")
        ensure_signing_key(key_file)
        try:
            settings = Settings(database_url=url, signing_key_file=key_file)
            total = args.entries + 2 * (args.entries // 10)
            created = partitions_for(settings, total + args.day)
            seconds = seed(url, args.entries, hot, ordinary)
            print(
                f"seeded {total} chained entries in {seconds:.0f} s into {len(created)} monthly partitions; "
                f"the hot child has {args.entries // 100}\n"
            )
            asyncio.run(report_figures(url, settings, hot, ordinary[100], args))
            asyncio.run(review_figures(settings, min(args.reads, 3)))
            entries, size = bytes_per_entry(url)
            print(f"\non disk: {size:.0f} bytes per entry ({entries} entries; log, chain and tree, with indexes)")
            verify_figures(url, settings, KeyRing.load(key_file), args.day, ordinary)
        finally:
            key_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
