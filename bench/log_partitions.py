"""The access log partitioned by month (revision 0027) against the plain table it replaced.

Seeds the same N entries, spread evenly over M months, with their chain links, into two fresh
PostgreSQL databases — one migrated to head (partitioned), one to 0018 (plain) — and reports
the median time of the reads that matter: an auditor's first page (chain order), a child's
access report, one day of the log (the log review's window), and what an index on `at` costs as
a B-tree and as a BRIN. The hashes are placeholders: no query here reads them.

  .venv/bin/python bench/log_partitions.py [--entries 500000] [--months 24] [--repeat 25]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, Select, func, select, text  # noqa: E402

from app.audit.partitions import ensure_log_partitions  # noqa: E402
from app.audit.queries import chain, chained_entries, log  # noqa: E402
from app.db import create_sync_engine  # noqa: E402
from app.ops.migrations import upgrade  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
CHILDREN = 1000
SEED = """
INSERT INTO access_log (txid, at, request_id, client_id, action, method, status_code, outcome, child_id)
SELECT i, :start + (i * :span / :entries) * interval '1 second', 'r' || i, 'client-' || (i % 50),
       'concerns-get', 'GET', 200, 'allowed', md5((i % :children)::text)::uuid
  FROM generate_series(1, :entries) AS i
"""
LINK = """
INSERT INTO access_log_chain (seq, entry_id, prev_hash, hash, at)
SELECT row_number() OVER (ORDER BY txid, id), id, repeat('0', 64), repeat('0', 64), at FROM access_log
"""


def seed(connection: Connection, entries: int, months: int) -> None:
    connection.execute(text("SET LOCAL statement_timeout = 0"))  # the service's 10 s is for requests
    span = (months * 30.4 * 86400) // 1
    month = START
    for _ in range(months):  # the partitioned log gets every month's partition, as the worker makes them
        ensure_log_partitions(connection, month, months_ahead=0)
        month = (month + timedelta(days=32)).replace(day=1)
    parameters = {"start": START, "span": span, "entries": entries, "children": CHILDREN}
    connection.execute(text(SEED), parameters)
    connection.execute(text(LINK))
    connection.execute(text("ANALYZE access_log"))
    connection.execute(text("ANALYZE access_log_chain"))


def median_ms(connection: Connection, run: Callable[[], object], repeat: int) -> float:
    run()  # warm the cache: this compares plans, not disks
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def reads(connection: Connection, repeat: int, months: int) -> dict[str, float]:
    child = uuid.UUID(str(connection.execute(text("SELECT md5('7')::uuid")).scalar_one()))
    day = START + timedelta(days=months * 15)
    page = chained_entries().order_by(chain.c.seq).limit(51)
    report = chained_entries().where(log.c.child_id == child).order_by(chain.c.seq).limit(51)
    one_day = select(func.count()).where(log.c.at >= day, log.c.at < day + timedelta(days=1))
    explained = explain(connection, report)
    return {
        "child report: planning (EXPLAIN)": explained["Planning Time"],
        "child report: execution (EXPLAIN)": explained["Execution Time"],
        "first page (51, chain order)": median_ms(connection, lambda: connection.execute(page).all(), repeat),
        "child report page (51)": median_ms(connection, lambda: connection.execute(report).all(), repeat),
        "one day, count": median_ms(connection, lambda: connection.execute(one_day).scalar(), repeat),
    }


def report_without_parallel_workers(connection: Connection, repeat: int) -> float:
    """The child report on a connection whose planner may not use parallel workers — set before
    its first statement, as the driver keeps each statement's plan once it is prepared."""
    connection.execute(text("SET max_parallel_workers_per_gather = 0"))
    child = uuid.UUID(str(connection.execute(text("SELECT md5('7')::uuid")).scalar_one()))
    report = chained_entries().where(log.c.child_id == child).order_by(chain.c.seq).limit(51)
    return median_ms(connection, lambda: connection.execute(report).all(), repeat)


def explain(connection: Connection, statement: Select[Any]) -> dict[str, float]:
    """The server's own planning and execution times of `statement` (warm: run once before)."""
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    connection.execute(text(sql)).all()
    lines = connection.execute(text(f"EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) {sql}")).scalars().all()
    found = {}
    for line in lines:
        key, _, value = str(line).partition(": ")
        if key in ("Planning Time", "Execution Time"):
            found[key] = float(value.removesuffix(" ms"))
    return found


def at_index_costs(connection: Connection, repeat: int, months: int) -> dict[str, float]:
    """One day's entries through a B-tree on `at`, then through a BRIN instead (partitioned log)."""
    day = START + timedelta(days=months * 15)
    query = text("SELECT count(*), max(request_id) FROM access_log WHERE at >= :a AND at < :b")
    parameters = {"a": day, "b": day + timedelta(days=1)}

    def run() -> object:
        return connection.execute(query, parameters).all()

    size = (
        "SELECT coalesce(sum(pg_relation_size(inhrelid)), 0)::float FROM pg_inherits WHERE inhparent = '{}'::regclass"
    )
    connection.execute(text("SET enable_seqscan = off"))
    found = {
        "btree on at, MB": connection.execute(text(size.format("ix_access_log_at"))).scalar_one() / 1e6,
        "one day via btree, ms": median_ms(connection, run, repeat),
    }
    connection.execute(text("DROP INDEX ix_access_log_at"))
    connection.execute(text("CREATE INDEX ix_access_log_at_brin ON access_log USING brin (at)"))
    connection.execute(text("ANALYZE access_log"))
    found["brin on at, MB"] = connection.execute(text(size.format("ix_access_log_at_brin"))).scalar_one() / 1e6
    found["one day via brin, ms"] = median_ms(connection, run, repeat)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for label, revision in (("plain (0018)", "0018"), ("partitioned (head)", "head")):
        name = f"samhandling_bench_part_{uuid.uuid4().hex[:8]}"
        settings = Settings(database_url=create_postgres_database(name), signing_key_file=Path("/nonexistent"))
        try:
            upgrade(settings, revision)
            engine = create_sync_engine(settings)
            try:
                with engine.begin() as connection:
                    seed(connection, args.entries, args.months)
                with engine.begin() as connection:
                    results[label] = reads(connection, args.repeat, args.months)
                with engine.connect() as fresh:
                    results[label]["child report page, no parallel"] = report_without_parallel_workers(
                        fresh, args.repeat
                    )
                with engine.begin() as connection:
                    if revision == "head":
                        results["index on at (partitioned)"] = at_index_costs(connection, args.repeat, args.months)
                    connection.rollback()
            finally:
                engine.dispose()
        finally:
            drop_postgres_database(name)
    print(f"{args.entries} entries over {args.months} months, median of {args.repeat}")
    for label, figures in results.items():
        print(f"{label}:")
        for key, value in figures.items():
            print(f"  {key:32} {value:9.2f}")


if __name__ == "__main__":
    main()
