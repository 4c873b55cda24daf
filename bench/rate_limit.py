"""The per-client rate limit's cost per request, by store (issue 24 point 7).

On a scratch database, through the app's own limiters (app/security/rate_limit_store.py):
1. allowed charges: one client charged N times in a row with a limit it never reaches — one
   upsert each; wall µs per charge and the benchmark process's CPU µs per charge;
2. refused charges: a client already over its limit — the upsert that updates nothing, then the
   read for Retry-After;
3. for comparison: a bare `SELECT 1` on the same autocommit path (what any round trip through
   SQLAlchemy's pool costs; the charge's own price is the difference), and the process store
   (app/security/rate_limit.py);
4. two "instances" (two engines, as two API processes would hold) × `--concurrency` tasks charging
   one client with a limit of 60/min at once: how many got through (it must be exactly 60).

Usage:

  .venv/bin/python bench/rate_limit.py [--charges 2000] [--concurrency 16] [--dialects postgresql,sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from app.db import create_api_engine  # noqa: E402
from app.security.rate_limit import Charge, Limiter, RateLimiter  # noqa: E402
from app.security.rate_limit_store import DatabaseRateLimiter  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.merkle import scratch_database  # noqa: E402

HIGH = 10_000_000  # a limit no loop here reaches


async def per_charge(limiter: Limiter, key: str, charges: int, *, refused: bool) -> tuple[float, float]:
    """(wall µs, CPU µs) per charge, after a short warm-up."""
    for _ in range(20):
        await limiter.charge(key)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(charges):
        charge = await limiter.charge(key)
        if bool(charge.retry_after) != refused:
            raise SystemExit(f"unexpected charge {charge} (refused expected: {refused})")
    return (
        (time.perf_counter() - wall) / charges * 1e6,
        (time.process_time() - cpu) / charges * 1e6,
    )


async def bare_round_trip(engine: AsyncEngine, charges: int) -> tuple[float, float]:
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    class SelectOne:
        enabled = True

        async def charge(self, key: str) -> Charge:
            async with autocommit.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return Charge(0, None)

    return await per_charge(SelectOne(), "", charges, refused=False)


async def concurrent(url: str, concurrency: int) -> tuple[int, int]:
    """Two engines × `concurrency` tasks, 3 charges each, on one client limited to 60/min."""
    settings = Settings(database_url=url, db_pool_size=concurrency, db_max_overflow=0)
    engines = [create_api_engine(settings) for _ in range(2)]
    limiters = [DatabaseRateLimiter(engine, 60) for engine in engines]

    async def task(limiter: DatabaseRateLimiter) -> int:
        return sum([(await limiter.charge("cl_shared")).retry_after == 0 for _ in range(3)])

    try:
        allowed = await asyncio.gather(*(task(limiters[index % 2]) for index in range(2 * concurrency)))
    finally:
        for engine in engines:
            await engine.dispose()
    return sum(allowed), 2 * concurrency * 3


async def run(dialect: str, charges: int, concurrency: int) -> None:
    with scratch_database(dialect) as url:
        engine = create_api_engine(Settings(database_url=url))
        try:
            allowed = await per_charge(DatabaseRateLimiter(engine, HIGH), "cl_allowed", charges, refused=False)
            over = DatabaseRateLimiter(engine, 1)
            await over.charge("cl_refused")
            refused = await per_charge(over, "cl_refused", charges, refused=True)
            bare = await bare_round_trip(engine, charges)
        finally:
            await engine.dispose()
        process = await per_charge(RateLimiter(HIGH), "cl_allowed", charges, refused=False)
        through, sent = await concurrent(url, concurrency)
    print(f"## {dialect} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"- database store, allowed charge: {allowed[0]:.0f} µs wall, {allowed[1]:.0f} µs client CPU")
    print(f"- database store, refused charge: {refused[0]:.0f} µs wall, {refused[1]:.0f} µs client CPU")
    print(f"- bare SELECT 1 on the same path: {bare[0]:.0f} µs wall, {bare[1]:.0f} µs client CPU")
    print(f"- process store, charge: {process[0]:.1f} µs wall, {process[1]:.1f} µs CPU")
    print(f"- two engines × {concurrency} tasks, {sent} charges at once, limit 60/min: {through} let through")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--charges", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--dialects", default="postgresql,sqlite")
    arguments = parser.parse_args()
    for dialect in arguments.dialects.split(","):
        asyncio.run(run(dialect.strip(), arguments.charges, arguments.concurrency))


if __name__ == "__main__":
    main()
