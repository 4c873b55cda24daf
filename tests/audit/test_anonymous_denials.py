"""Anonymous floods: limited per address, and repeated identical denials logged as one entry with a count."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.audit.aggregation import DenialAggregator
from app.audit.verify import run_verification
from app.main import create_app
from app.security.keys import KeyRing
from app.settings import Settings
from tests.audit.test_tamper import unguarded
from tests.support import World, from_address

FLOODER, OTHER = "203.0.113.50", "203.0.113.51"


class FakeCommitter:
    def __init__(self) -> None:
        self.appended: list[dict[str, Any]] = []

    async def append(self, entries: list[dict[str, Any]], caller: object = None) -> bool:
        self.appended.extend(entries)
        return True


def denial(request_id: str, status: int = 401, route: str = "/api/v1/concerns") -> dict[str, Any]:
    return {"request_id": request_id, "at": request_id, "client_id": None, "route": route, "status_code": status}


def test_the_first_denial_is_logged_and_identical_ones_are_counted_until_the_window_closes() -> None:
    committer, now = FakeCommitter(), [0.0]
    aggregator = DenialAggregator(committer, window_seconds=10, clock=lambda: now[0])  # type: ignore[arg-type]

    async def scenario() -> None:
        assert aggregator.offer("a", [denial("r1")])  # logged as usual
        assert not aggregator.offer("a", [denial("r2")])
        assert not aggregator.offer("a", [denial("r3")])
        assert aggregator.offer("b", [denial("r4")])  # another address: its own run
        assert aggregator.offer("a", [denial("r5", status=429)])  # another status: its own run
        now[0] = 9.0
        assert await aggregator.flush() == 0  # still open
        now[0] = 10.5
        assert await aggregator.flush() == 1
        assert committer.appended == [{**denial("r3"), "repeat_count": 2}]  # the last one, counted
        assert aggregator.offer("a", [denial("r6")])  # a new window starts with a logged entry
        assert not aggregator.offer("a", [denial("r7")])  # a single repeat …
        await aggregator.close()
        assert committer.appended[-1] == {**denial("r7"), "repeat_count": None}  # … is an ordinary entry

    asyncio.run(scenario())


def test_a_zero_window_logs_every_denial() -> None:
    aggregator = DenialAggregator(FakeCommitter(), window_seconds=0)  # type: ignore[arg-type]
    assert all(aggregator.offer("a", [denial(f"r{index}")]) for index in range(5))


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.model_copy(update={"anonymous_requests_per_minute": 5, "anonymous_denial_window_seconds": 60})


def flood(client: TestClient, address: str, count: int) -> list[int]:
    with from_address(client, address):
        return [client.get("/api/v1/concerns").status_code for _ in range(count)]


def test_requests_without_a_token_are_limited_per_source_address(limited: Settings) -> None:
    with TestClient(create_app(limited)) as client:
        world = World(limited, client)
        headers = world.headers(world.agency("school"))
        assert flood(client, FLOODER, 8) == [401] * 5 + [429] * 3
        with from_address(client, FLOODER):
            refused = client.get("/api/v1/concerns")
            assert refused.headers["content-type"] == "application/problem+json"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            token = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("cl_x", "y"))
            assert token.status_code == 429  # token requests are anonymous too: refused before argon2
            assert client.get("/api/v1/concerns", headers=headers).status_code == 200  # a valid token passes
        assert flood(client, OTHER, 1) == [401]  # another address is not affected


def represented(rows: list[Any]) -> int:
    return sum(row.repeat_count or 1 for row in rows)


def test_a_flood_of_identical_anonymous_denials_is_one_entry_with_a_count(limited: Settings) -> None:
    with TestClient(create_app(limited)) as client:
        world = World(limited, client)
        headers = world.headers(world.agency("school"))
        statuses = flood(client, FLOODER, 30) + flood(client, OTHER, 3)
        with from_address(client, FLOODER):
            assert client.get("/api/v1/concerns", headers=headers).status_code == 200
    # The app has shut down: the open windows' counts are written.
    rows = world.sql(
        "SELECT status_code, repeat_count FROM access_log WHERE route = '/api/v1/concerns' AND client_id IS NULL "
        "ORDER BY id"
    )
    assert represented(rows) == len(statuses) == 33
    assert len(rows) <= 6  # flooder: 401 first + count, 429 first + count; other: 401 first + count
    assert sorted(row.repeat_count for row in rows if row.repeat_count) == [2, 4, 24]
    assert len(world.sql("SELECT id FROM access_log WHERE route = '/api/v1/concerns' AND status_code = 200")) == 1


def test_old_and_new_form_entries_verify_in_one_chain_and_a_changed_count_is_found(
    limited: Settings, world: World
) -> None:
    keys = KeyRing.load(limited.signing_key_file)
    with TestClient(create_app(limited)) as client:
        World(limited, client).headers(world.agency("school"))
        flood(client, FLOODER, 4)
    result = run_verification(limited, keys, checkpoint=False)
    assert result.valid, result.reason
    counted = world.sql("SELECT id, repeat_count FROM access_log WHERE repeat_count IS NOT NULL")
    assert [row.repeat_count for row in counted] == [3]
    with TestClient(create_app(limited)) as client:
        page = client.get("/api/v1/access-log", params={"limit": 200}, headers=World(limited, client).auditor())
        assert [item["repeat_count"] for item in page.json()["items"] if item["repeat_count"]] == [3]
    seq = world.sql("SELECT seq FROM access_log_chain WHERE entry_id = :id", id=counted[0].id)[0].seq
    unguarded(limited, "UPDATE access_log SET repeat_count = 1 WHERE id = :id", id=counted[0].id)
    broken = run_verification(limited, keys, checkpoint=False)
    assert not broken.valid
    assert broken.first_invalid_seq == seq
    first_plain = world.sql("SELECT entry_id FROM access_log_chain WHERE seq = 1")[0].entry_id
    unguarded(limited, "UPDATE access_log SET repeat_count = 5 WHERE id = :id", id=first_plain)
    assert run_verification(limited, keys, checkpoint=False).first_invalid_seq == 1  # an old entry too


def test_denials_of_a_verified_caller_are_each_logged_before_they_are_answered(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.agency("school"))
    missing = f"/api/v1/concerns/{uuid.uuid4()}"
    for _ in range(15):
        response = client.get(missing, headers=headers)
        assert response.status_code == 404
        rows = world.sql(
            "SELECT repeat_count FROM access_log WHERE request_id = :id", id=response.headers["x-request-id"]
        )
        assert [row.repeat_count for row in rows] == [None]  # committed before the answer, on its own
    for _ in range(5):
        assert client.get("/api/v1/access-log", headers=headers).status_code == 403
    assert len(world.sql("SELECT id FROM access_log WHERE status_code IN (403, 404)")) == 20


def test_a_counted_entry_and_ordinary_ones_commit_in_one_batch(settings: Settings, world: World) -> None:
    """The group committer inserts a batch with one executemany; an aggregated entry (with
    `repeat_count`) beside ordinary ones (without) once failed the whole batch, and the reads in
    it answered 503 (found by schemathesis)."""
    from app.audit.group_commit import GroupCommitter
    from app.db import create_api_engine
    from app.models.base import utcnow

    def entry(request_id: str) -> dict[str, Any]:
        return {
            "at": utcnow(),
            "request_id": request_id,
            "client_id": None,
            "agency_id": None,
            "role": None,
            "action": "concerns-list",
            "resource_type": None,
            "resource_id": None,
            "child_id": None,
            "method": "GET",
            "route": "/api/v1/concerns",
            "status_code": 401,
            "outcome": "denied",
            "jti": None,
            "purpose_of_use": None,
        }

    async def both() -> list[bool]:
        engine = create_api_engine(settings)
        committer = GroupCommitter(engine)
        try:
            return list(
                await asyncio.gather(
                    committer.append([entry("ordinary")]),
                    committer.append([{**entry("counted"), "repeat_count": 7}]),
                )
            )
        finally:
            await committer.close()
            await engine.dispose()

    assert asyncio.run(both()) == [True, True]
    rows = world.sql(
        "SELECT request_id, repeat_count FROM access_log WHERE request_id IN ('ordinary', 'counted') ORDER BY id"
    )
    assert [(row.request_id, row.repeat_count) for row in rows] == [("ordinary", None), ("counted", 7)]
