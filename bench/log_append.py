"""How to commit access-log entries, measured: the design choice behind app/audit/sequencer.py.

Drives the log directly (no HTTP) with C concurrent writers in each of P processes against one
fresh PostgreSQL database, and reports entries/s, each mode against the first in the same run:

  head-locked   chain inside each writer's transaction: lock the chain head, hash, insert the
                entry and its link, update the head, commit (the simple design, not chosen)
  per-request   insert the entry in a transaction of its own, no shared lock (how a writing
                request logs: its entries ride in its own transaction)
  group-commit  hand the entry to the process's GroupCommitter (how reads and denials log)

then how fast the sequencer chains what the runs wrote (entries/s). Usage:

  .venv/bin/python bench/log_append.py [--processes 2] [--concurrency 32] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import Connection, insert, select, update  # noqa: E402

from app.audit import journal  # noqa: E402
from app.audit.chain import entry_hash  # noqa: E402
from app.audit.group_commit import GroupCommitter  # noqa: E402
from app.audit.queries import chain as CHAIN  # noqa: E402, N812
from app.audit.queries import log as LOG  # noqa: E402, N812
from app.audit.sequencer import BATCH_ENTRIES, chain_pending  # noqa: E402
from app.db import create_api_engine, create_sync_engine  # noqa: E402
from app.models.audit import ChainHead  # noqa: E402
from app.models.base import (
    table_of,  # noqa: E402
    utcnow,  # noqa: E402
)
from app.ops.migrations import upgrade  # noqa: E402
from app.settings import Settings  # noqa: E402

HEAD = table_of(ChainHead)
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def entry() -> dict[str, object]:
    return {
        "at": utcnow(),
        "request_id": uuid.uuid4().hex,
        "client_id": "cl_bench",
        "agency_id": "bench",
        "role": "practitioner",
        "action": "concerns-get",
        "resource_type": "concern",
        "resource_id": str(uuid.uuid4()),
        "child_id": uuid.uuid4(),
        "method": "GET",
        "route": "/api/v1/concerns/{concern_id}",
        "status_code": 200,
        "outcome": "allowed",
        "jti": uuid.uuid4().hex,
        "purpose_of_use": None,
    }


async def drive(url: str, mode: str, concurrency: int, seconds: float) -> int:
    settings = Settings(database_url=url, db_pool_size=concurrency, db_max_overflow=0)
    engine = create_api_engine(settings)
    committer = GroupCommitter(engine)
    write = engine.execution_options(sqlite_write=True)
    done = 0

    async def head_locked() -> None:
        async with write.begin() as connection:
            await connection.run_sync(lambda sync: chain_inline(sync, entry()))

    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            if mode == "group-commit":
                await committer.append([entry()])
            elif mode == "head-locked":
                await head_locked()
            else:
                async with write.begin() as connection:
                    await journal.append(connection, [entry()])
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await committer.close()
    await engine.dispose()
    return done


def chain_inline(connection: Connection, new_entry: dict[str, object]) -> None:
    """The rejected design: the whole chain step inside the writer's transaction, head locked."""
    head = connection.execute(select(HEAD).where(HEAD.c.id == 1).with_for_update()).one()
    entry_id = connection.execute(insert(LOG).values(new_entry).returning(LOG.c.id)).scalar_one()
    seq = head.seq + 1
    row = connection.execute(select(LOG).where(LOG.c.id == entry_id)).mappings().one()
    digest = entry_hash({**row, "seq": seq, "prev_hash": head.hash})
    connection.execute(insert(CHAIN).values(seq=seq, entry_id=entry_id, prev_hash=head.hash, hash=digest))
    connection.execute(
        update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=digest, last_txid=row["txid"], last_entry_id=entry_id)
    )


def process_main(url: str, mode: str, concurrency: int, seconds: float, queue: multiprocessing.Queue[float]) -> None:
    queue.put(asyncio.run(drive(url, mode, concurrency, seconds)))


def measure(url: str, mode: str, processes: int, concurrency: int, seconds: float) -> float:
    queue: multiprocessing.Queue[float] = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=process_main, args=(url, mode, concurrency, seconds, queue))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    total: float = sum(queue.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def chain_everything(url: str) -> float:
    """Chain all unchained entries the runs left (the head-locked run chained its own)."""
    engine = create_sync_engine(Settings(database_url=url))
    started, total = time.perf_counter(), 0
    while True:
        with engine.begin() as connection:
            chained = chain_pending(connection, wait=True)
        total += chained
        if chained < BATCH_ENTRIES:
            break
    engine.dispose()
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    name = f"bench_log_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(Settings(database_url=url))
        modes = ("head-locked", "per-request", "group-commit")
        results: dict[str, list[float]] = {}
        for mode in modes * 2:  # two alternating rounds; the best of each counts
            rate = measure(url, mode, args.processes, args.concurrency, args.seconds)
            results.setdefault(mode, []).append(rate)
        sequencer_rate = chain_everything(url)
        baseline = max(results[modes[0]])
        rounds = f"best of 2 rounds of {args.seconds}s"
        print(f"{args.processes} processes x {args.concurrency} concurrent writers, {rounds}")
        print(f"{'mode':<14}{'entries/s':>12}{'ratio':>8}")
        for mode in modes:
            print(f"{mode:<14}{max(results[mode]):>12.0f}{max(results[mode]) / baseline:>8.2f}")
        print(f"sequencer chains {sequencer_rate:.0f} entries/s")
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
