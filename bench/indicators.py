"""The leaders' statistics at 10⁵ concerns: a cold answer (SQL and disclosure control for every
month) and a warm one (the process's cache), through the service function the route calls.

A scratch database gets N concerns spread over 24 closed months across 40 agencies in 8
municipalities, and a team for every fifth concern's child. Reported: ms for the first answer
of 24 months by municipality, for a second grouping of the same months (month tables cached,
the answer composed), and for a repeated query (answer cached).

Usage: .venv/bin/python bench/indicators.py [--concerns 100000] [--dialects sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from app.db import create_sync_engine  # noqa: E402
from app.models.agency import Agency  # noqa: E402
from app.models.base import table_of  # noqa: E402
from app.models.child import Child  # noqa: E402
from app.models.concern import Concern  # noqa: E402
from app.models.team import Team  # noqa: E402
from app.services.statistics import Period, StatisticsCache  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.merkle import scratch_database  # noqa: E402

KINDS = ["preschool", "school", "social_services", "health_care", "police"]


def seed(url: str, concerns: int) -> None:
    rng = random.Random(26)
    engine = create_sync_engine(Settings(database_url=url))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    agencies = [
        {"id": f"a{i}", "kind": KINDS[i % 5], "name": f"A {i}", "municipality": f"M{i % 8}", "created_at": start}
        for i in range(40)
    ]
    children, concern_rows, teams = [], [], []
    for i in range(concerns // 2):
        children.append(
            {"id": uuid.uuid4(), "personnummer": f"{i:012d}", "birth_date": date(2015, 1, 1),
             "is_coordination_number": False, "created_at": start}
        )  # fmt: skip
    for _ in range(concerns):
        child = rng.choice(children)["id"]
        moment = start + timedelta(seconds=rng.randrange(730 * 86400))
        concern_rows.append(
            {"id": uuid.uuid4(), "child_id": child, "agency_id": rng.choice(agencies)["id"], "areas": ["safe"],
             "description": "x", "urgency": "routine", "status": "received", "status_history": [],
             "report_to_agency_id": "a2" if rng.random() < 0.3 else None, "created_at": moment, "updated_at": moment}
        )  # fmt: skip
        if rng.random() < 0.2:
            closed = moment + timedelta(days=rng.randrange(10, 400))
            teams.append(
                {"id": uuid.uuid4(), "child_id": child, "agency_id": rng.choice(agencies)["id"], "status": "closed",
                 "closed_at": closed, "created_at": moment + timedelta(days=rng.randrange(1, 60))}
            )  # fmt: skip
    with engine.begin() as connection:
        for table, rows in ((Agency, agencies), (Child, children), (Concern, concern_rows), (Team, teams)):
            for offset in range(0, len(rows), 5000):
                connection.execute(table_of(table).insert(), rows[offset : offset + 5000])
    engine.dispose()


async def measure(url: str) -> dict[str, float]:
    async_url = url.replace("sqlite://", "sqlite+aiosqlite://").replace("postgresql://", "postgresql+asyncpg://")
    engine = create_async_engine(async_url)
    cache = StatisticsCache(5, "Europe/Stockholm")
    period = Period(date(2024, 1, 1), date(2025, 12, 1))
    figures = {}
    async with engine.connect() as connection:
        for label, group_by in (("cold", "municipality"), ("other grouping", "agency_kind"), ("repeat", "agency_kind")):
            began = time.perf_counter()
            await cache.answer(connection, period, group_by)
            figures[label] = (time.perf_counter() - began) * 1000
    await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concerns", type=int, default=100_000)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    args = parser.parse_args()
    for dialect in args.dialects.split(","):
        with scratch_database(dialect) as url:
            seed(url, args.concerns)
            figures = measure_and_format(asyncio.run(measure(url)))
            print(f"{dialect}, {args.concerns} concerns, 24 months: {figures}")


def measure_and_format(figures: dict[str, float]) -> str:
    return ", ".join(f"{label} {value:.1f} ms" for label, value in figures.items())


if __name__ == "__main__":
    main()
