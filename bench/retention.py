"""What a retention purge costs: `retention plan` and `retention run` over N closed concerns
past retention beside N open ones, on a fresh database of each dialect (PostgreSQL's dropped
after). Each purged concern is one `record.purged` event and one access-log entry, in batches of
100 per transaction (app/services/retention.py). Usage:

  .venv/bin/python bench/retention.py [--records 5000] [--dialects sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from app.db import Database, create_api_engine, create_sync_engine  # noqa: E402
from app.models.agency import Agency  # noqa: E402
from app.models.base import table_of, utcnow  # noqa: E402
from app.models.child import Child  # noqa: E402
from app.models.concern import Concern  # noqa: E402
from app.ops.migrations import upgrade  # noqa: E402
from app.ops.retention import plan_retention, run_retention  # noqa: E402
from app.settings import Settings  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DAYS = 30


def seed(settings: Settings, records: int) -> None:
    """One child; `records` cancelled concerns and as many still received, all made now."""
    now = utcnow()
    child_id = uuid.uuid4()
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            connection.execute(insert(table_of(Agency)).values(id="bench", kind="school", name="Bench", created_at=now))
            connection.execute(
                insert(table_of(Child)).values(
                    id=child_id,
                    personnummer="201403012380",
                    birth_date=now.date(),
                    is_coordination_number=False,
                    created_at=now,
                )
            )
            rows = [
                {
                    "id": uuid.uuid4(),
                    "child_id": child_id,
                    "agency_id": "bench",
                    "areas": ["safe"],
                    "description": "Orolig.",
                    "urgency": "routine",
                    "status": status,
                    "status_history": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for status in ("cancelled", "received")
                for _ in range(records)
            ]
            connection.execute(insert(table_of(Concern)), rows)
    finally:
        engine.dispose()


async def measure(settings: Settings) -> tuple[float, float, int]:
    later = utcnow() + timedelta(days=DAYS + 1)
    database = Database(create_api_engine(settings))
    try:
        started = time.perf_counter()
        planned = await plan_retention(database, settings, later)
        plan_seconds = time.perf_counter() - started
        started = time.perf_counter()
        purged = await run_retention(database, settings, "bench:retention", later)
        run_seconds = time.perf_counter() - started
    finally:
        await database.dispose()
    assert planned == purged, (planned, purged)
    purged_concerns = purged["concern"]
    assert isinstance(purged_concerns, int)
    return plan_seconds, run_seconds, purged_concerns


def run_dialect(dialect: str, records: int, key_dir: Path) -> None:
    name = f"samhandling_bench_ret_{uuid.uuid4().hex[:8]}"
    if dialect == "sqlite":
        url = f"sqlite:///{key_dir / 'bench.db'}"
    else:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    settings = Settings(
        database_url=url,
        signing_key_file=key_dir / "key.pem",
        secrets_key_file=key_dir / "secrets.key",
        retention_concern_days=DAYS,
    )
    try:
        upgrade(settings)
        seed(settings, records)
        plan_seconds, run_seconds, purged = asyncio.run(measure(settings))
        print(
            f"{dialect:10s} purged {purged} of {2 * records} concerns: plan {plan_seconds * 1000:.0f} ms, "
            f"run {run_seconds:.2f} s ({purged / run_seconds:.0f} records/s)"
        )
    finally:
        if dialect == "postgresql":
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for dialect in args.dialects.split(","):
            run_dialect(dialect, args.records, Path(directory))


if __name__ == "__main__":
    main()
