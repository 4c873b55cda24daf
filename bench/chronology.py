"""The chronology's latency for a child with 1 000 records, on SQLite and PostgreSQL.

Run by hand: `.venv/bin/python bench/chronology.py [sqlite|postgresql ...]`. It builds a fresh
migrated database, gives one child 1 000 records written by the school through the service
layer's own tables (400 concerns — half of them mandatory reports with two status changes and a
decision — 300 assessments, 100 consents, 200 team memberships), then times whole requests
through the app (token check, access rule, the UNION, the log entry): the first page (50), a
full page (200), and walking everything in pages of 200. Prints medians; never asserts on time.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db import create_sync_engine  # noqa: E402
from app.events.secret_box import ensure_secrets_key  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models.assessment import Assessment  # noqa: E402
from app.models.base import table_of  # noqa: E402
from app.models.concern import Concern  # noqa: E402
from app.models.consent import Consent, ConsentConfirmation, ConsentParty  # noqa: E402
from app.models.team import Team, TeamMember  # noqa: E402
from app.ops.migrations import upgrade  # noqa: E402
from app.security.keys import ensure_signing_key  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support import Domain, World  # noqa: E402


def seed(settings: Settings, child: str, school: str, social: str) -> None:
    child_id, now = uuid.UUID(child), datetime.now(UTC)
    engine = create_sync_engine(settings)
    at = [now - timedelta(days=400) + timedelta(hours=i) for i in range(1000)]
    with engine.begin() as connection:
        concerns = []
        for i in range(400):
            history = [
                {
                    "status": "received",
                    "from_status": None,
                    "reason": None,
                    "changed_at": at[i].isoformat(),
                    "agency_id": school,
                }
            ]
            report = i % 2 == 0
            if report:
                history += [
                    {
                        "status": "accepted",
                        "from_status": "received",
                        "reason": "Skäl.",
                        "changed_at": (at[i] + timedelta(minutes=5)).isoformat(),
                        "agency_id": social,
                    },
                    {
                        "status": "in_progress",
                        "from_status": "accepted",
                        "reason": None,
                        "changed_at": (at[i] + timedelta(minutes=9)).isoformat(),
                        "agency_id": social,
                    },
                ]
            concerns.append(
                {
                    "id": uuid.uuid4(),
                    "child_id": child_id,
                    "agency_id": school,
                    "areas": ["safe", "nurtured"],
                    "description": "Orolig.",
                    "urgency": "urgent",
                    "report_to_agency_id": social if report else None,
                    "status": history[-1]["status"],
                    "status_history": history,
                    "decision": "investigation_opened" if report else None,
                    "decided_at": at[i] + timedelta(minutes=7) if report else None,
                    "decision_agency_id": social if report else None,
                    "decision_due_at": at[i] + timedelta(days=14) if report else None,
                    "created_at": at[i],
                    "updated_at": at[i],
                }
            )
        connection.execute(insert(table_of(Concern)), concerns)
        connection.execute(
            insert(table_of(Assessment)),
            [
                {
                    "id": uuid.uuid4(),
                    "child_id": child_id,
                    "agency_id": school,
                    "perspective": "professional",
                    "assessed_at": at[400 + i],
                    "areas": {"safe": {"rating": 3}},
                    "created_at": at[400 + i],
                }
                for i in range(300)
            ],
        )
        consents = [uuid.uuid4() for _ in range(100)]
        connection.execute(
            insert(table_of(Consent)),
            [
                {
                    "id": cid,
                    "child_id": child_id,
                    "agency_id": school,
                    "granted_by": [{"role": "guardian", "name": "V"}],
                    "covers_concerns": True,
                    "covers_assessments": False,
                    "covers_teams": True,
                    "purpose": "Stöd.",
                    "valid_from": at[700 + i],
                    "valid_until": now + timedelta(days=100),
                    "created_at": at[700 + i],
                }
                for i, cid in enumerate(consents)
            ],
        )
        connection.execute(
            insert(table_of(ConsentParty)),
            [
                {"consent_id": cid, "agency_id": agency, "child_id": child_id}
                for cid in consents
                for agency in (school, social)
            ],
        )
        connection.execute(
            insert(table_of(ConsentConfirmation)),
            [{"consent_id": cid, "agency_id": school, "confirmed_at": at[700 + i]} for i, cid in enumerate(consents)],
        )
        team = uuid.uuid4()
        connection.execute(
            insert(table_of(Team)),
            [{"id": team, "child_id": child_id, "agency_id": school, "status": "open", "created_at": at[800]}],
        )
        connection.execute(
            insert(table_of(TeamMember)),
            [
                {
                    "id": uuid.uuid4(),
                    "team_id": team,
                    "agency_id": school,
                    "role": "member",
                    "person_name": "P",
                    "started_at": at[800 + i],
                    "ended_at": None,
                    "added_by_agency_id": school,
                }
                for i in range(200)
            ],
        )
    engine.dispose()


def timed(call: Callable[[], object], rounds: int = 15) -> float:
    call()  # warm-up: statement caches, plans
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def run(dialect: str, work: Path) -> None:
    key, secrets = work / "signing-key.pem", work / "secrets.key"
    ensure_signing_key(key)
    ensure_secrets_key(secrets)
    name = f"samhandling_bench_{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{work / 'bench.db'}" if dialect == "sqlite" else create_postgres_database(name)
    try:
        settings = Settings(database_url=url, signing_key_file=key, secrets_key_file=secrets, rate_limit_per_minute=0)
        upgrade(settings)
        with TestClient(create_app(settings)) as http:
            world = World(settings, http)
            school, social = world.agency("school"), world.agency("social_services")
            child = Domain(world).child(school)
            seed(settings, child, school, social)
            headers = world.headers(school)
            url_path = f"/api/v1/children/{child}/chronology"

            def page(limit: int) -> None:
                assert http.get(url_path, params={"limit": limit}, headers=headers).status_code == 200

            def walk() -> int:
                count, cursor = 0, None
                while True:
                    body = http.get(
                        url_path, params={"limit": 200, **({"cursor": cursor} if cursor else {})}, headers=headers
                    ).json()
                    count += len(body["items"])
                    cursor = body["next_cursor"]
                    if cursor is None:
                        return count

            items = walk()
            print(f"{dialect}: {items} items from 1 000 records; median of 15 requests:")
            print(f"  first page, limit 50:   {timed(lambda: page(50)):7.1f} ms")
            print(f"  first page, limit 200:  {timed(lambda: page(200)):7.1f} ms")
            print(f"  whole chronology ({-(-items // 200)} pages of 200): {timed(walk, rounds=5):7.1f} ms")
    finally:
        if dialect == "postgresql":
            drop_postgres_database(name)


if __name__ == "__main__":
    os.environ.setdefault("SAMHANDLING_LOG_LEVEL", "WARNING")
    for dialect in sys.argv[1:] or ["sqlite", "postgresql"]:
        with tempfile.TemporaryDirectory() as directory:
            run(dialect, Path(directory))
