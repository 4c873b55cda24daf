"""Early-warning signals: each rule, the once-only event, and that nothing leaks.

A signal is worked out for one agency from what it may see, plus the count and areas only of the
concerns of agencies that confirmed a `signals` consent naming it. The tests look at every path
by which something could leave — the signals themselves, the event feed, and every other
response the receiver can read — before and after consents are recorded, confirmed, withdrawn.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support import Domain, World

RULES = {"concerns_accumulating", "several_agencies", "compass_drop"}


def signals(client: TestClient, world: World, agency: str, child: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"/api/v1/children/{child}/signals", headers=world.headers(agency))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["child_id"] == child
    return {item["rule"]: item for item in body["items"]}


def feed(client: TestClient, world: World, agency: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"after": cursor} if cursor else {})}
        page = client.get("/api/v1/events", params=params, headers=world.headers(agency)).json()
        events += page["items"]
        if not page["items"]:
            return events
        cursor = page["next_cursor"]


def raised(client: TestClient, world: World, agency: str, child: str | None = None) -> list[str]:
    """The rules of the `signal.raised` events in the agency's feed (for the child)."""
    return [
        event["record_id"]
        for event in feed(client, world, agency)
        if event["type"] == "signal.raised" and (child is None or event["child_id"] == child)
    ]


def assess(client: TestClient, world: World, agency: str, child: str, perspective: str, **ratings: int) -> str:
    body = {"child_id": child, "perspective": perspective, "areas": {a: {"rating": r} for a, r in ratings.items()}}
    response = client.post("/api/v1/assessments", json=body, headers=world.headers(agency))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def scene(world: World, domain: Domain) -> dict[str, str]:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    return {"school": school, "social": social, "health": health, "child": domain.child(school)}


# -- the rules ------------------------------------------------------------------------------------


def test_three_concerns_raise_concerns_accumulating_once(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    first = domain.concern(school, child, areas=["safe"])
    second = domain.concern(school, child, areas=["nurtured"])
    assert signals(client, world, school, child) == {}
    assert raised(client, world, school) == []
    third = domain.concern(school, child, areas=["safe", "healthy"])
    found = signals(client, world, school, child)
    assert set(found) == {"concerns_accumulating"}  # one agency: not several_agencies
    signal = found["concerns_accumulating"]
    assert signal["concern_count"] == 3
    assert signal["agency_count"] == 1
    assert signal["areas"] == ["safe", "healthy", "nurtured"]  # the compass's order
    assert signal["record_ids"] == [first["id"], second["id"], third["id"]]
    assert signal["raised_at"] == third["created_at"]
    assert raised(client, world, school, child) == ["concerns_accumulating"]
    domain.concern(school, child)  # still holds: no second event within the window
    assert raised(client, world, school, child) == ["concerns_accumulating"]
    assert signals(client, world, school, child)["concerns_accumulating"]["concern_count"] == 4


def test_the_signal_event_is_thin_and_names_only_the_rule(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    for _ in range(3):
        domain.concern(school, child)
    [event] = [event for event in feed(client, world, school) if event["type"] == "signal.raised"]
    assert event["record_type"] == "signal"
    assert event["record_id"] == "concerns_accumulating"
    assert event["child_id"] == child
    assert event["actor_agency_id"] is None  # the agency that tipped it is not the receiver's to know


def test_concerns_from_two_agencies_raise_several_agencies_for_whoever_sees_both(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, health, child = scene["school"], scene["social"], scene["health"], scene["child"]
    domain.shared_consent(social, child, [school, social, health], ("concerns",))
    school_concern = domain.concern(school, child)
    assert signals(client, world, social, child) == {}
    health_concern = domain.concern(health, child, areas=["healthy"])
    for agency in (school, social, health):  # each sees both through the confirmed consent
        found = signals(client, world, agency, child)
        assert set(found) == {"several_agencies"}, agency
        assert found["several_agencies"]["agency_count"] == 2
        assert found["several_agencies"]["record_ids"] == [school_concern["id"], health_concern["id"]]
        assert found["several_agencies"]["raised_at"] == health_concern["created_at"]
        assert raised(client, world, agency, child) == ["several_agencies"]


def test_several_agencies_needs_both_in_the_receivers_view(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, health, child = scene["school"], scene["health"], scene["child"]
    domain.concern(school, child)
    domain.concern(health, child)  # no consent: neither sees the other's
    assert signals(client, world, school, child) == {}
    assert signals(client, world, health, child) == {}
    assert raised(client, world, school) == raised(client, world, health) == []


def test_a_mandatory_report_counts_for_the_agency_it_is_reported_to(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, health, child = scene["school"], scene["social"], scene["health"], scene["child"]
    domain.concern(school, child, report_to_agency_id=social)
    domain.concern(health, child, report_to_agency_id=social)
    assert set(signals(client, world, social, child)) == {"several_agencies"}
    assert raised(client, world, social, child) == ["several_agencies"]
    assert signals(client, world, school, child) == {}


def test_concerns_outside_the_window_do_not_count(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    old = domain.concern(school, child)
    world.sql_write(
        "UPDATE concerns SET created_at = :at WHERE id = :id", at=_days_ago(world, 181), id=_db_id(world, old["id"])
    )
    domain.concern(school, child)
    domain.concern(school, child)
    assert signals(client, world, school, child) == {}
    assert raised(client, world, school) == []
    domain.concern(school, child)
    assert signals(client, world, school, child)["concerns_accumulating"]["concern_count"] == 3


def test_the_event_goes_again_once_the_window_has_passed_since_the_last(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    for _ in range(3):
        domain.concern(school, child)
    assert raised(client, world, school, child) == ["concerns_accumulating"]
    world.sql_write("UPDATE signal_raises SET raised_at = :at", at=_days_ago(world, 179))
    domain.concern(school, child)
    assert raised(client, world, school, child) == ["concerns_accumulating"]  # still within the window
    world.sql_write("UPDATE signal_raises SET raised_at = :at", at=_days_ago(world, 181))
    domain.concern(school, child)
    assert raised(client, world, school, child) == ["concerns_accumulating", "concerns_accumulating"]


def test_compass_drop_on_a_fall_of_two_or_a_rating_of_one(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    assess(client, world, school, child, "professional", safe=4, healthy=3)
    assess(client, world, school, child, "child", safe=2)  # another perspective: not consecutive
    assert signals(client, world, school, child) == {}
    second = assess(client, world, school, child, "professional", safe=3, healthy=3)
    assert signals(client, world, school, child) == {}  # a fall of 1
    third = assess(client, world, school, child, "professional", safe=1, healthy=2)
    signal = signals(client, world, school, child)["compass_drop"]
    assert signal["areas"] == ["safe"]  # healthy fell by 1 only; safe by 2, and is 1
    assert signal["record_ids"] == [second, third]
    assert signal["concern_count"] == 0
    assert raised(client, world, school, child) == ["compass_drop"]
    assert signals(client, world, social, child) == {}  # social services sees none of it
    assert raised(client, world, social) == []
    low = assess(client, world, social, child, "guardian", respected=1)  # a first rating of 1
    assert signals(client, world, social, child)["compass_drop"]["record_ids"] == [low]
    assert raised(client, world, social, child) == ["compass_drop"]


def test_the_police_get_no_compass_drop(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    police = world.agency("police")
    domain.consent(school, child, [school, police], ("assessments", "concerns"))
    assess(client, world, school, child, "professional", safe=1)
    assert set(signals(client, world, school, child)) == {"compass_drop"}
    assert signals(client, world, police, child) == {}
    assert raised(client, world, police) == []


# -- nothing leaks --------------------------------------------------------------------------------


def everything_seen_by(client: TestClient, world: World, agency: str, child: str) -> dict[str, Any]:
    """Every response about the child (and the feed) that the agency can read."""
    headers = world.headers(agency)
    paths = [
        f"/api/v1/children/{child}/signals",
        f"/api/v1/children/{child}/compass",
        f"/api/v1/concerns?child_id={child}",
        f"/api/v1/assessments?child_id={child}",
        f"/api/v1/consents?child_id={child}",
        f"/api/v1/teams?child_id={child}",
        "/api/v1/concerns",
    ]
    seen: dict[str, Any] = {path: client.get(path, headers=headers).json() for path in paths}
    seen["events"] = feed(client, world, agency)
    return seen


def test_an_agency_without_a_path_gets_nothing(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, health, child = scene["school"], scene["social"], scene["health"], scene["child"]
    before = everything_seen_by(client, world, health, child)
    assert before[f"/api/v1/children/{child}/signals"] == {"child_id": child, "items": []}
    # Everything the others do: concerns from two agencies, a mandatory report, a falling compass,
    # a consent between school and social services covering signals too, and a team.
    domain.shared_consent(school, child, [school, social], ("concerns", "assessments", "signals", "teams"))
    for _ in range(2):
        domain.concern(school, child)
    domain.concern(social, child)
    domain.concern(school, child, report_to_agency_id=social)
    assess(client, world, school, child, "professional", safe=5)
    assess(client, world, school, child, "professional", safe=1)
    team = client.post("/api/v1/teams", json={"child_id": child}, headers=world.headers(school))
    assert team.status_code == 201
    assert set(signals(client, world, social, child)) == RULES  # the others have signals
    assert everything_seen_by(client, world, health, child) == before  # the outsider: not a byte more


def test_a_signals_consent_contributes_counts_but_never_content_until_confirmed(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    school_concerns = [domain.concern(school, child, areas=["achieving"]) for _ in range(2)]
    own = domain.concern(social, child, areas=["safe"])
    consent = domain.consent(social, child, [school, social], ("signals",))  # social services' say-so only
    assert signals(client, world, social, child) == {}
    domain.concern(school, child, areas=["achieving"])  # reaches no one but the school
    assert raised(client, world, social) == []

    domain.confirm(school, consent["id"])  # now the school's concerns count for social services
    found = signals(client, world, social, child)
    assert set(found) == {"concerns_accumulating", "several_agencies"}
    for signal in found.values():
        assert signal["concern_count"] == 4
        assert signal["agency_count"] == 2
        assert signal["areas"] == ["safe", "achieving"]
        assert signal["record_ids"] == [own["id"]]  # counted, never shown
    body = client.get(f"/api/v1/children/{child}/signals", headers=world.headers(social)).text
    assert school not in body
    assert all(concern["id"] not in body for concern in school_concerns)
    for concern in school_concerns:  # and the content stays closed
        assert client.get(f"/api/v1/concerns/{concern['id']}", headers=world.headers(social)).status_code == 404
    # The school's next concern reaches social services (as a count), and tips the event there.
    domain.concern(school, child)
    assert sorted(raised(client, world, social, child)) == ["concerns_accumulating", "several_agencies"]
    # Social services confirmed by recording, so its concern counts for the school — as a count.
    for_school = signals(client, world, school, child)["several_agencies"]
    assert for_school["concern_count"] == 5
    assert own["id"] not in for_school["record_ids"]
    assert len(for_school["record_ids"]) == 4  # the school's own


def test_a_withdrawn_signals_consent_stops_contributing_at_once(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    consent = domain.shared_consent(social, child, [school, social], ("signals",))
    for _ in range(3):
        domain.concern(school, child)
    assert signals(client, world, social, child)["concerns_accumulating"]["concern_count"] == 3
    assert raised(client, world, social, child) == ["concerns_accumulating"]
    domain.withdraw(school, consent["id"])
    assert signals(client, world, social, child) == {}
    events_before = raised(client, world, social)
    domain.concern(school, child)
    assert signals(client, world, social, child) == {}
    assert raised(client, world, social) == events_before


def test_a_signals_consent_confirmed_by_the_reader_only_counts_nothing(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    """Social services confirming for its own records opens no count of the school's."""
    school, social, health, child = scene["school"], scene["social"], scene["health"], scene["child"]
    consent = domain.consent(health, child, [school, social, health], ("signals",))
    domain.confirm(social, consent["id"])
    for _ in range(3):
        domain.concern(school, child)
    assert signals(client, world, social, child) == {}
    assert signals(client, world, health, child) == {}
    assert raised(client, world, social) == raised(client, world, health) == []


def test_a_concerns_consent_without_signals_still_counts_what_it_shows(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    """Seeing the concerns is more than counting them: a confirmed `concerns` consent suffices."""
    school, social, child = scene["school"], scene["social"], scene["child"]
    domain.shared_consent(social, child, [school, social], ("concerns",))
    ids = [domain.concern(school, child)["id"] for _ in range(3)]
    assert signals(client, world, social, child)["concerns_accumulating"]["record_ids"] == ids


# -- the event under concurrency, the setting, the endpoint ----------------------------------------


def test_concurrent_writes_raise_the_event_exactly_once(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    """Two concerns written at once for a child with one already: whichever commits second sees
    three (the child is serialised), and the event goes out once."""
    school, child = scene["school"], scene["child"]
    domain.concern(school, child)
    headers = world.headers(school)
    body = {"child_id": child, "areas": ["safe"], "description": "Orolig.", "urgency": "routine"}
    statuses: list[int] = []
    start = threading.Barrier(2)

    def write() -> None:
        start.wait()
        statuses.append(client.post("/api/v1/concerns", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201, 201]
    assert raised(client, world, school, child) == ["concerns_accumulating"]
    assert len(world.sql("SELECT 1 FROM signal_raises")) == 1


@pytest.fixture
def signals_off(settings: Settings) -> Iterator[World]:
    off = settings.model_copy(update={"signals_enabled": False})
    with TestClient(create_app(off), raise_server_exceptions=False) as http:
        yield World(off, http)


def test_signals_can_be_turned_off(signals_off: World) -> None:
    world = signals_off
    domain = Domain(world)
    school = world.agency("school")
    child = domain.child(school)
    for _ in range(3):
        domain.concern(school, child)
    assert signals(world.http, world, school, child) == {}
    assert raised(world.http, world, school) == []
    assert world.sql("SELECT 1 FROM signal_raises") == []


@pytest.fixture
def lower_thresholds(settings: Settings) -> Iterator[World]:
    custom = settings.model_copy(update={"signals_concern_count": 2, "signals_window_days": 30})
    with TestClient(create_app(custom), raise_server_exceptions=False) as http:
        yield World(custom, http)


def test_the_thresholds_are_settings(lower_thresholds: World) -> None:
    world = lower_thresholds
    domain = Domain(world)
    school = world.agency("school")
    child = domain.child(school)
    old = domain.concern(school, child)
    world.sql_write(
        "UPDATE concerns SET created_at = :at WHERE id = :id", at=_days_ago(world, 31), id=_db_id(world, old["id"])
    )
    domain.concern(school, child)
    assert signals(world.http, world, school, child) == {}  # the old one is outside 30 days
    domain.concern(school, child)
    assert signals(world.http, world, school, child)["concerns_accumulating"]["concern_count"] == 2


def test_reading_signals_is_logged_with_the_child(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    child = scene["child"]
    client.get(
        f"/api/v1/children/{child}/signals", headers={**world.headers(scene["health"]), "X-Request-ID": "signals-read"}
    )
    rows = world.sql(
        "SELECT action, resource_type, child_id, outcome FROM access_log WHERE request_id = 'signals-read'"
    )
    assert [(row.action, row.resource_type, row.outcome) for row in rows] == [("signals-list", "signals", "allowed")]
    assert str(uuid.UUID(str(rows[0].child_id))) == child


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/children/not-a-uuid/signals", 422),
        ("/api/v1/children/00000000-0000-4000-8000-000000000000/signals", 404),
    ],
)
def test_a_bad_or_unknown_child_is_a_problem(client: TestClient, world: World, path: str, status: int) -> None:
    response = client.get(path, headers=world.headers(world.agency("school")))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert json.loads(response.text)["status"] == status


def test_signals_need_a_token_and_concerns_read(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    path = f"/api/v1/children/{scene['child']}/signals"
    assert client.get(path).status_code == 401
    token = world.token(world.client(scene["school"]), scope="assessments:read")
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def _days_ago(world: World, days: int) -> Any:
    from datetime import UTC, datetime, timedelta

    moment = datetime.now(UTC) - timedelta(days=days)
    # SQLite keeps naive UTC text (app/models/base.py UTCDateTime), PostgreSQL a timestamptz.
    return moment.replace(tzinfo=None) if world.settings.database_url.startswith("sqlite") else moment


def _db_id(world: World, record_id: str) -> Any:
    # SQLite stores UUIDs as 32 hex characters, PostgreSQL as uuid.
    return uuid.UUID(record_id).hex if world.settings.database_url.startswith("sqlite") else uuid.UUID(record_id)
