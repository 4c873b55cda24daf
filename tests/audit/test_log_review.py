"""Log review: a reproducible sample of a day, the three rules' hits, and append-only reviews."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from app.audit.queries import log
from app.db import create_sync_engine
from app.main import create_app
from app.settings import Settings
from tests.support import World

DAY = "2026-06-15"  # Stockholm is UTC+2 that day: working hours 07–18 are 05:00–16:00 UTC
CHILDREN = [uuid.UUID(int=n) for n in range(1, 5)]


def moment(hour: int, minute: int = 0, second: int = 0, day: int = 15) -> datetime:
    return datetime(2026, 6, day, hour, minute, second, tzinfo=UTC)


def entry(client_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
    base = {
        "at": at,
        "request_id": uuid.uuid4().hex,
        "client_id": client_id,
        "agency_id": "school-x",
        "role": "practitioner",
        "action": "concerns-get",
        "method": "GET",
        "status_code": 200,
        "outcome": "allowed",
    }
    return base | fields


def append(settings: Settings, entries: list[dict[str, Any]]) -> None:
    engine = create_sync_engine(settings)
    try:
        with engine.execution_options(sqlite_write=True).begin() as connection:
            connection.execute(insert(log), [{"repeat_count": None, "child_id": None} | item for item in entries])
    finally:
        engine.dispose()


def denial(client_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return entry(client_id, at, status_code=404, outcome="denied", **fields)


@pytest.fixture
def reviewing(settings: Settings) -> Iterator[tuple[TestClient, World]]:
    app = create_app(settings.model_copy(update={"review_many_children": 2}))
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http, World(settings, http)


@pytest.fixture
def day(settings: Settings) -> None:
    append(
        settings,
        [
            # many_children: three children in the day (the limit is two); two are fine.
            *(entry("cl_many", moment(8, n), child_id=child) for n, child in enumerate(CHILDREN[:3])),
            *(entry("cl_few", moment(9, n), child_id=child) for n, child in enumerate(CHILDREN[:2])),
            entry("cl_few", moment(9, 5), child_id=CHILDREN[2], status_code=404, outcome="denied"),  # not a read
            # after_hours: 23:30 and 06:59 local; the next local day's 00:30 is not this day.
            entry("cl_night", moment(21, 30), child_id=CHILDREN[0]),
            entry("cl_night", moment(4, 59), child_id=CHILDREN[1]),
            entry("cl_night", moment(22, 30), child_id=CHILDREN[1]),  # 00:30 on the 16th, local
            # denial_burst: ten within 7.5 minutes; ten spread over 18 minutes; one run of ten.
            *(denial("cl_burst", moment(10, 0, 0) + timedelta(seconds=50 * n)) for n in range(10)),
            *(denial("cl_slow", moment(11, 0) + timedelta(minutes=2 * n)) for n in range(10)),
            denial("cl_flood", moment(12, 0), repeat_count=10),
        ],
    )


def review(http: TestClient, world: World, **params: Any) -> dict[str, Any]:
    response = http.get("/api/v1/access-log/review", params={"date": DAY, **params}, headers=world.auditor())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.usefixtures("day")
def test_the_rules_hit_exactly_the_clients_that_break_them(reviewing: tuple[TestClient, World]) -> None:
    http, world = reviewing
    found = review(http, world)
    hits = {(finding["rule"], finding["client_id"]): finding for finding in found["findings"]}
    assert set(hits) == {
        ("many_children", "cl_many"),
        ("after_hours", "cl_night"),
        ("denial_burst", "cl_burst"),
        ("denial_burst", "cl_flood"),  # one entry standing for ten denials
    }
    assert hits[("many_children", "cl_many")]["entry_count"] == 3
    night = hits[("after_hours", "cl_night")]
    assert night["entry_count"] == 2
    assert sorted(item["at"] for item in night["entries"]) == [
        "2026-06-15T04:59:00.000000Z",
        "2026-06-15T21:30:00.000000Z",
    ]
    assert hits[("denial_burst", "cl_burst")]["entry_count"] == 10
    assert found["day_entries"] == 3 + 3 + 2 + 10 + 10 + 1  # the 16th's entry belongs to the next day
    # The review read itself is logged.
    rows = world.sql("SELECT count(*) AS n FROM access_log WHERE action = 'access-log-review'")
    assert rows[0].n == 1


@pytest.mark.usefixtures("day")
def test_the_sample_is_reproducible_from_its_seed_and_only_new_entries_displace_picks(
    reviewing: tuple[TestClient, World], settings: Settings
) -> None:
    http, world = reviewing
    first = review(http, world, sample=5, seed="c0ffee")
    again = review(http, world, sample=5, seed="c0ffee")
    picked = [item["seq"] for item in first["sample"]]
    assert picked == [item["seq"] for item in again["sample"]]
    day_seqs = {item["seq"] for item in whole_day(http, world)}
    # Anybody can recompute it: the day's seqs with the lowest SHA-256(seed ":" seq).
    expected = sorted(day_seqs, key=lambda seq: hashlib.sha256(f"c0ffee:{seq}".encode()).digest())[:5]
    assert picked == sorted(expected)
    unseeded = review(http, world, sample=5)
    assert len(unseeded["seed"]) >= 8
    assert [i["seq"] for i in review(http, world, sample=5, seed=unseeded["seed"])["sample"]] == [
        i["seq"] for i in unseeded["sample"]
    ]
    # The day grows: a pick can give way only to a newer entry.
    append(settings, [entry("cl_late", moment(14, n)) for n in range(40)])
    grown = review(http, world, sample=5, seed="c0ffee")
    now_picked = {item["seq"] for item in grown["sample"]}
    newer = now_picked - day_seqs
    assert now_picked - newer <= set(picked)
    assert len(set(picked) - now_picked) == len(newer)


def whole_day(http: TestClient, world: World) -> list[dict[str, Any]]:
    params: dict[str, str | int] = {"since": "2026-06-14T22:00:00Z", "until": "2026-06-15T22:00:00Z", "limit": 200}
    response = http.get("/api/v1/access-log", params=params, headers=world.auditor())
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_review_parameters_are_checked(client: TestClient, world: World) -> None:
    school = world.agency("school")
    assert (
        client.get("/api/v1/access-log/review", params={"date": DAY}, headers=world.headers(school)).status_code == 403
    )
    for params in (
        {},
        {"date": "15/06/2026"},
        {"date": "0"},  # not a number of seconds since 1970: the spec says format date
        {"date": DAY, "sample": "201"},
        {"date": DAY, "seed": "not a seed!"},
        {"date": DAY, "rule": "after_hours"},
    ):
        response = client.get("/api/v1/access-log/review", params=params, headers=world.auditor())
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")


REVIEW = {
    "period_from": "2026-06-15",
    "period_to": "2026-06-15",
    "seed": "c0ffee",
    "entries_checked": 25,
    "findings": [{"rule": "after_hours", "client_id": "cl_night", "entries": [7, 8], "note": "Jourtjänst."}],
    "reviewer": "Dataskyddsombudet",
}


def test_reviews_are_documented_listed_and_never_changed(client: TestClient, world: World) -> None:
    school = world.agency("school")
    assert client.post("/api/v1/access-log/reviews", json=REVIEW, headers=world.headers(school)).status_code == 403
    created = client.post("/api/v1/access-log/reviews", json=REVIEW, headers=world.auditor())
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/v1/access-log/reviews/{body['id']}"
    assert created.headers["etag"]
    assert {key: body[key] for key in REVIEW} == REVIEW | {
        "findings": [REVIEW["findings"][0]]  # type: ignore[index]
    }
    second = client.post("/api/v1/access-log/reviews", json=REVIEW | {"seed": None}, headers=world.auditor())
    assert second.status_code == 201
    fetched = client.get(created.headers["location"], headers=world.auditor())
    assert fetched.json() == body
    assert client.get(f"/api/v1/access-log/reviews/{uuid.uuid4()}", headers=world.auditor()).status_code == 404
    page = client.get("/api/v1/access-log/reviews", params={"limit": 1}, headers=world.auditor()).json()
    assert [item["id"] for item in page["items"]] == [body["id"]]
    rest = client.get(
        "/api/v1/access-log/reviews", params={"limit": 1, "cursor": page["next_cursor"]}, headers=world.auditor()
    ).json()
    assert [item["id"] for item in rest["items"]] == [second.json()["id"]]
    assert rest["next_cursor"] is None
    for statement in ("UPDATE access_log_reviews SET reviewer = 'någon annan'", "DELETE FROM access_log_reviews"):
        with pytest.raises(DBAPIError, match="append-only"):
            world.sql_write(statement)
    assert len(world.sql("SELECT id FROM access_log_reviews")) == 2
    for bad in (
        REVIEW | {"period_to": "2026-06-14"},
        REVIEW | {"findings": [{"rule": "gut_feeling"}]},
        REVIEW | {"reviewer": ""},
        REVIEW | {"reviewer": "Dataskydds\x00ombudet"},  # PostgreSQL cannot store a NUL: 422, not 500
        REVIEW | {"period_from": 0},
        REVIEW | {"entries_checked": -1},
        REVIEW | {"extra": 1},
    ):
        response = client.post("/api/v1/access-log/reviews", json=bad, headers=world.auditor())
        assert response.status_code == 422, bad
    assert len(world.sql("SELECT id FROM access_log_reviews")) == 2
    logged = world.sql(
        "SELECT resource_id FROM access_log WHERE action = 'access-log-reviews-create' AND status_code = 201"
    )
    assert {row.resource_id for row in logged} == {body["id"], second.json()["id"]}
