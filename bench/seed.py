"""Bulk seeding for the benchmark: agencies and clients through the app, the rest by COPY.

Everything it writes is valid data: children with real personnummer, concerns and consents as
the API would store them, and access-log entries with a correct hash chain — so that
verification and the growth runs measure a database that looks like a real one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from sqlalchemy import URL, text

from app.audit.chain import entry_hash
from app.audit.sequencer import SEQUENCER_LOCK_KEY, chain_pending
from app.db import create_sync_engine
from app.ops.operator import operator_transaction
from app.schemas.agency import AgencyCreate
from app.services.agencies import create_agency
from app.services.clients import create_client
from app.settings import Settings
from tests.support import personnummer as valid_personnummer

AGENCIES = {
    "school": ("norrskolan", "school"),
    "social": ("socialtjansten", "social_services"),
    "health": ("vardcentralen", "health_care"),
}


@dataclass
class Seeded:
    credentials: dict[str, tuple[str, str]]
    children: list[uuid.UUID]
    concern_ids: list[uuid.UUID]
    withdrawable_consents: list[uuid.UUID]


def personnummer(serial: int) -> str:
    """A distinct valid number for every serial below 5 000 000."""
    birth = (datetime(2008, 1, 1) + timedelta(days=serial // 1000)).strftime("%Y%m%d")
    return valid_personnummer(birth, serial % 1000)


def seed_identities(settings: Settings) -> dict[str, tuple[str, str]]:
    async def run() -> dict[str, tuple[str, str]]:
        credentials = {}
        async with operator_transaction(settings, "agencies add") as (session, _context):
            for agency_id, kind in AGENCIES.values():
                await create_agency(session, AgencyCreate(id=agency_id, kind=kind, name=agency_id.title()))
        async with operator_transaction(settings, "clients add") as (session, _context):
            for name, (agency_id, _kind) in AGENCIES.items():
                client, _kind, secret = await create_client(
                    session, agency_id=agency_id, role="practitioner", name=f"bench {name}"
                )
                credentials[name] = (client.client_id, secret)
        return credentials

    return asyncio.run(run())


def _one(cursor: psycopg.Cursor[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The one row a statement returns."""
    row = cursor.fetchone()
    assert row is not None
    return row


def _text(value: str | int | None) -> str | None:
    return None if value is None else str(value)


def _copy(connection: psycopg.Connection, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed_records(
    dsn: str, children: int, concerns: int, consents_to_withdraw: int, first_serial: int = 0
) -> tuple[list[Any], list[Any], list[Any]]:
    """Children; concerns raised by the school; one consent per child lets social services read
    them; and extra consents (one per request of the withdraw scenario)."""
    now = datetime.now(UTC)
    school, social = AGENCIES["school"][0], AGENCIES["social"][0]
    child_ids = [uuid.uuid4() for _ in range(children)]
    concern_ids = [uuid.uuid4() for _ in range(concerns)]
    with psycopg.connect(dsn) as connection:
        _copy(
            connection,
            "children",
            ["id", "personnummer", "birth_date", "is_coordination_number", "created_at"],
            [
                (child, personnummer(first_serial + index), datetime(2010, 1, 1).date(), False, now)
                for index, child in enumerate(child_ids)
            ],
        )
        history = orjson.dumps(
            [{"status": "received", "from_status": None, "reason": None, "changed_at": now.isoformat(),
              "agency_id": school, "client_id": None}]
        ).decode()  # fmt: skip
        _copy(
            connection,
            "concerns",
            ["id", "child_id", "agency_id", "areas", "description", "urgency", "status", "status_history",
             "created_at", "updated_at"],
            [
                (concern, child_ids[index % children], school, '["safe"]', "Benchmark concern.", "routine",
                 "received", history, now - timedelta(seconds=concerns - index), now)
                for index, concern in enumerate(concern_ids)
            ],
        )  # fmt: skip
        sharing = [(uuid.uuid4(), child) for child in child_ids]
        withdrawable = [(uuid.uuid4(), child_ids[index % children]) for index in range(consents_to_withdraw)]
        consent_rows = [
            (consent, child, school, '[{"role": "guardian", "name": "V"}]', True, True, True, "Benchmark.",
             now - timedelta(days=1), now + timedelta(days=365), now)
            for consent, child in sharing + withdrawable
        ]  # fmt: skip
        _copy(
            connection,
            "consents",
            ["id", "child_id", "agency_id", "granted_by", "covers_concerns", "covers_assessments", "covers_teams",
             "purpose", "valid_from", "valid_until", "created_at"],
            consent_rows,
        )  # fmt: skip
        _copy(
            connection,
            "consent_parties",
            ["consent_id", "agency_id", "child_id"],
            [(consent, agency, child) for consent, child in sharing + withdrawable for agency in (school, social)],
        )
        # The school recorded them, so it has confirmed them: social services may read its concerns
        # (without this row the access rule opens nothing, and "with consent" measured 404s).
        _copy(
            connection,
            "consent_confirmations",
            ["consent_id", "agency_id", "confirmed_at"],
            [(consent, school, now) for consent, _child in sharing + withdrawable],
        )
        connection.commit()
    return child_ids, concern_ids, [consent for consent, _child in withdrawable]


def seed_log(dsn: str, entries: int, children: list[uuid.UUID]) -> float:
    """Append `entries` chained access-log entries after the chain's head. Returns seconds.

    Runs while no request is writing (between benchmark runs): under the sequencer's lock, after
    everything pending is chained, the new entries take the head's transaction id and the ids
    after the last entry, so they sit exactly after the head in the sequencer's order.
    """
    started = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (SEQUENCER_LOCK_KEY,))
        seq, prev_hash, last_txid, last_entry = _one(
            connection.execute(
                "SELECT seq, hash, last_txid, last_entry_id FROM access_log_head WHERE id = 1 FOR UPDATE"
            )
        )
        (pending,) = _one(
            connection.execute("SELECT count(*) FROM access_log WHERE (txid, id) > (%s, %s)", (last_txid, last_entry))
        )
        if pending:
            raise RuntimeError(f"{pending} entries are not chained yet; chain them before seeding")
        (first_id,) = _one(connection.execute("SELECT coalesce(max(id), 0) + 1 FROM access_log"))
        chunk = 100_000
        for offset in range(0, entries, chunk):
            log_rows, chain_rows = [], []
            for index in range(offset, min(entries, offset + chunk)):
                entry_id = first_id + index
                seq += 1
                entry = {
                    "seq": seq,
                    "at": now - timedelta(seconds=entries - index),
                    "request_id": f"seed-{entry_id}",
                    "client_id": "cl_seed",
                    "agency_id": AGENCIES["school"][0],
                    "role": "practitioner",
                    "action": "concerns-get",
                    "resource_type": "concern",
                    "resource_id": None,
                    "child_id": children[index % len(children)],
                    "method": "GET",
                    "route": "/api/v1/concerns/{concern_id}",
                    "status_code": 200,
                    "outcome": "allowed",
                    "jti": None,
                    "purpose_of_use": None,
                    "prev_hash": prev_hash,
                }
                digest = entry_hash(entry)
                log_rows.append(
                    (entry_id, last_txid, entry["at"], entry["request_id"], "cl_seed", entry["agency_id"],
                     "practitioner", "concerns-get", "concern", None, entry["child_id"], "GET", entry["route"],
                     200, "allowed")
                )  # fmt: skip
                chain_rows.append((seq, entry_id, prev_hash, digest, entry["at"]))
                prev_hash = digest
            _copy(
                connection,
                "access_log",
                ["id", "txid", "at", "request_id", "client_id", "agency_id", "role", "action", "resource_type",
                 "resource_id", "child_id", "method", "route", "status_code", "outcome"],
                log_rows,
            )  # fmt: skip
            _copy(connection, "access_log_chain", ["seq", "entry_id", "prev_hash", "hash", "at"], chain_rows)
        connection.execute(
            "UPDATE access_log_head SET seq = %s, hash = %s, last_entry_id = %s WHERE id = 1",
            (seq, prev_hash, first_id + entries - 1),
        )
        connection.execute("SELECT setval(pg_get_serial_sequence('access_log', 'id'), %s)", (first_id + entries,))
        connection.commit()
    grow_tree(dsn)
    return time.perf_counter() - started


def grow_tree(dsn: str) -> None:
    """Build the Merkle tree over the seeded entries now, as the running sequencer would in the
    background over the next minute (in bounded batches), so the runs measure requests only."""
    # `dsn` is libpq's key=value form (psycopg's); SQLAlchemy wants a URL.
    parts = psycopg.conninfo.conninfo_to_dict(dsn)
    url = URL.create(
        "postgresql",
        username=_text(parts.get("user")),
        password=_text(parts.get("password")),
        host=_text(parts.get("host")),
        port=int(str(parts["port"])) if parts.get("port") else None,
        database=_text(parts.get("dbname")),
    )
    engine = create_sync_engine(Settings(database_url=url.render_as_string(hide_password=False)))
    try:
        while True:
            with engine.begin() as connection:
                chain_pending(connection, wait=True)
                seq, tree_size = connection.execute(text("SELECT seq, tree_size FROM access_log_head")).one()
            if tree_size >= seq:
                return
    finally:
        engine.dispose()


def seed_plan(dsn: str, child: uuid.UUID, goals: int = 10, actions: int = 20, reviews: int = 5) -> uuid.UUID:
    """The school's plan for one child, as the API would store it: goals in every compass area,
    actions with a short status history, reviews with progress on every goal — and the school's
    assessments of the child, so each goal's compass has something to show."""
    now = datetime.now(UTC)
    school = AGENCIES["school"][0]
    areas = ["safe", "healthy", "achieving", "nurtured", "active", "respected", "responsible", "included"]
    plan_id = uuid.uuid4()
    goal_ids = [uuid.uuid4() for _ in range(goals)]
    text = "Benchmark plan text, about as long as a sentence written in a meeting."

    def history(index: int) -> str:
        steps = [("planned", None), ("in_progress", "planned"), ("done", "in_progress")][: 1 + index % 3]
        return orjson.dumps(
            [{"status": status, "from_status": previous, "note": None, "changed_at": now.isoformat(),
              "agency_id": school} for status, previous in steps]
        ).decode()  # fmt: skip

    progress = orjson.dumps([{"goal_id": str(goal), "status": "progressing", "note": None} for goal in goal_ids])
    with psycopg.connect(dsn) as connection:
        connection.execute(
            "INSERT INTO plans (id, child_id, agency_id, kind, summary, child_views, guardian_views, next_review_at, "
            "status, created_at, updated_at) VALUES (%s, %s, %s, 'child_plan', %s, %s, %s, %s, 'active', %s, %s)",
            (plan_id, child, school, text, text, text, now + timedelta(days=90), now, now),
        )
        _copy(
            connection,
            "plan_goals",
            ["id", "plan_id", "area", "text", "expressed_by", "agency_id", "created_at"],
            [(goal, plan_id, areas[index % 8], text, "child", school, now) for index, goal in enumerate(goal_ids)],
        )
        _copy(
            connection,
            "plan_actions",
            ["id", "plan_id", "goal_id", "text", "responsible_agency_id", "status", "status_history", "agency_id",
             "created_at", "updated_at"],
            [(uuid.uuid4(), plan_id, goal_ids[index % goals], text, school,
              ["planned", "in_progress", "done"][index % 3], history(index), school, now, now)
             for index in range(actions)],
        )  # fmt: skip
        _copy(
            connection,
            "plan_reviews",
            ["id", "plan_id", "held_at", "was_due_at", "next_review_at", "progress", "child_views", "agency_id",
             "created_at"],
            [(uuid.uuid4(), plan_id, now - timedelta(days=30 * (reviews - index)), now, now, progress.decode(), text,
              school, now) for index in range(reviews)],
        )  # fmt: skip
        _copy(
            connection,
            "assessments",
            ["id", "child_id", "agency_id", "perspective", "assessed_at", "areas", "created_at"],
            [(uuid.uuid4(), child, school, perspective, now - timedelta(days=index),
              orjson.dumps({area: {"rating": 1 + (index + position) % 5} for position, area in enumerate(areas)})
              .decode(), now) for index, perspective in enumerate(["professional", "guardian", "child"] * 2)],
        )  # fmt: skip
        connection.commit()
    return plan_id
