"""GET /api/v1/statistics on constructed data: every indicator, the suppression, the role's limits.

The facts are written straight into the database in months long past (the API stamps its own
records with the current time), in a layout worked out by hand below; each expected number is
counted from that layout, not from the service.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Table

from app.db import create_sync_engine
from app.models.base import table_of
from app.models.child import Child
from app.models.concern import Concern
from app.models.team import Team
from tests.support import World, personnummer

Z = UTC


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=Z)


class Facts:
    """Children, concerns and teams inserted as they would have been recorded back then."""

    def __init__(self, world: World, serial: int = 100) -> None:
        self.world = world
        self.rows: list[tuple[Table, dict[str, Any]]] = []
        self.serial = serial

    def child(self) -> uuid.UUID:
        self.serial += 1
        child_id = uuid.uuid4()
        pnr = personnummer("20140301", self.serial)
        self.rows.append(
            (
                table_of(Child),
                {"id": child_id, "personnummer": pnr, "birth_date": datetime(2014, 3, 1).date(),
                 "is_coordination_number": False, "created_at": at("2025-01-01T00:00:00")},
            )
        )  # fmt: skip
        return child_id

    def concerns(self, agency: str, when: str, count: int = 1, report_to: str | None = None) -> None:
        for _ in range(count):
            self.concern(agency, self.child(), when, report_to)

    def concern(self, agency: str, child: uuid.UUID, when: str, report_to: str | None = None) -> None:
        moment = at(when)
        self.rows.append(
            (
                table_of(Concern),
                {"id": uuid.uuid4(), "child_id": child, "agency_id": agency, "areas": ["safe"], "description": "Oro.",
                 "urgency": "routine", "report_to_agency_id": report_to, "status": "received",
                 "status_history": [{"status": "received", "changed_at": when, "agency_id": agency}],
                 "created_at": moment, "updated_at": moment},
            )
        )  # fmt: skip

    def team(self, agency: str, child: uuid.UUID, created: str, closed: str | None = None) -> None:
        self.rows.append(
            (
                table_of(Team),
                {"id": uuid.uuid4(), "child_id": child, "agency_id": agency, "status": "closed" if closed else "open",
                 "closed_at": at(closed) if closed else None, "created_at": at(created)},
            )
        )  # fmt: skip

    def write(self) -> None:
        engine = create_sync_engine(self.world.settings)
        try:
            with engine.begin() as connection:
                for table, values in self.rows:
                    connection.execute(table.insert().values(**values))
        finally:
            engine.dispose()


@pytest.fixture
def county(world: World) -> dict[str, str]:
    """March and April 2025 in two municipalities (Stockholm time; summer time from 30 March).

    Concerns, March: Lindesberg school 6 (3 reported to social services), Nora school 4,
    Lindesberg preschool 7 (5 reported), Nora health centre 8 (one at 00:30 on 1 March, local).
    April: Nora school 4, Lindesberg preschool 9 (one at 00:30 on 1 April, local), Nora health
    centre 6, Lindesberg social services 5.
    Teams: children 1–6 get their first team at the Lindesberg school on 10 March (child 3's
    closed on 20 March, child 2's on 15 April); child 7's first is there on 2 March (closed 20
    April), its second at the Nora health centre on 5 March. First concerns before the team:
    40, 12, 14, 20, 30 days (child 6 none), child 7 10 days.
    """
    agencies = {
        "school": world.agency("school", municipality="Lindesberg"),
        "school_nora": world.agency("school", municipality="Nora"),
        "preschool": world.agency("preschool", municipality="Lindesberg"),
        "social": world.agency("social_services", municipality="Lindesberg"),
        "health": world.agency("health_care", municipality="Nora"),
        "police": world.agency("police"),
    }
    facts = Facts(world)
    a = agencies
    facts.concerns(a["school"], "2025-03-15T12:00:00", 3)
    facts.concerns(a["school"], "2025-03-15T12:00:00", 3, report_to=a["social"])
    facts.concerns(a["school_nora"], "2025-03-15T12:00:00", 4)
    facts.concerns(a["preschool"], "2025-03-15T12:00:00", 2)
    facts.concerns(a["preschool"], "2025-03-15T12:00:00", 5, report_to=a["social"])
    facts.concerns(a["health"], "2025-03-15T12:00:00", 7)
    facts.concerns(a["health"], "2025-02-28T23:30:00")  # 00:30 on 1 March in Stockholm (UTC+1)
    facts.concerns(a["school_nora"], "2025-04-15T12:00:00", 4)
    facts.concerns(a["preschool"], "2025-04-15T12:00:00", 8)
    facts.concerns(a["preschool"], "2025-03-31T22:30:00")  # 00:30 on 1 April in Stockholm (UTC+2)
    facts.concerns(a["health"], "2025-04-15T12:00:00", 6)
    facts.concerns(a["social"], "2025-04-15T12:00:00", 5)
    children = [facts.child() for _ in range(7)]
    first_concerns = ["2025-01-29T12:00:00", "2025-02-26T12:00:00", "2025-02-24T12:00:00", "2025-02-18T12:00:00",
                      "2025-02-08T12:00:00", None, "2025-02-20T12:00:00"]  # fmt: skip
    for child, when in zip(children, first_concerns, strict=True):
        if when:
            facts.concern(a["school"], child, when)
    facts.concern(a["school"], children[0], "2025-02-28T12:00:00")  # a later one does not count
    closed = {1: "2025-04-15T12:00:00", 2: "2025-03-20T12:00:00"}
    for index, child in enumerate(children[:6]):
        facts.team(a["school"], child, "2025-03-10T12:00:00", closed.get(index))
    facts.team(a["school"], children[6], "2025-03-02T12:00:00", "2025-04-20T12:00:00")
    facts.team(a["health"], children[6], "2025-03-05T12:00:00")
    facts.write()
    return agencies


def stats(client: TestClient, world: World, **query: str) -> dict[str, Any]:
    response = client.get("/api/v1/statistics", params=query, headers=world.analyst())
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_group(answer: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {row["group"]: row for row in answer["rows"]}


# March's mandatory reports have neither a decision nor a deadline marked passed: not final.
PENDING = ["decided_within_14_days", "median_days_to_decision"]


def test_every_indicator_on_a_month_by_agency_kind(client: TestClient, world: World, county: dict[str, str]) -> None:
    answer = stats(client, world, **{"from": "2025-03", "to": "2025-03", "group_by": "agency_kind"})
    assert (answer["from"], answer["to"], answer["group_by"], answer["threshold"]) == (
        "2025-03",
        "2025-03",
        "agency_kind",
        5,
    )
    rows = by_group(answer)
    assert list(rows) == ["health_care", "police", "preschool", "school", "social_services"]
    pick = ("concerns", "mandatory_reports", "children_with_open_team", "median_days_concern_to_team")
    assert {group: tuple(row[name] for name in pick) for group, row in rows.items()} == {
        "health_care": (8, 0, 0, None),
        "police": (0, 0, 0, None),
        "preschool": (7, None, 0, None),  # 5 reports: hidden as the complement of the school's 3
        "school": (10, None, 6, 17.0),  # 40 12 14 20 30 10 days → median 17; child 7 counted once
        "social_services": (0, 0, 0, None),
    }
    assert rows["school"]["suppressed"] == ["mandatory_reports"]
    assert rows["police"]["suppressed"] == ["median_days_concern_to_team"]  # no children: fewer than 5
    total = answer["total"]
    assert tuple(total[name] for name in pick) == (25, 8, 6, 17.0)
    assert total["suppressed"] == []
    for row in [*answer["rows"], total]:
        assert all(row[name] is None for name in PENDING)
        assert not set(PENDING) & set(row["suppressed"])
        assert (row["children_with_active_plan"], row["reviews_on_time"]) == (0, 0)  # no plans in this county
    assert [item["field"] for item in answer["unavailable"]] == PENDING
    assert all(item["reason"].startswith("2025-03: Not final yet") for item in answer["unavailable"])


def test_a_group_of_four_is_null_and_neither_the_total_nor_the_other_grouping_gives_it_back(
    client: TestClient, world: World, county: dict[str, str]
) -> None:
    kinds = stats(client, world, **{"from": "2025-04", "to": "2025-04", "group_by": "agency_kind"})
    municipalities = stats(client, world, **{"from": "2025-04", "to": "2025-04", "group_by": "municipality"})
    rows = by_group(kinds)
    assert rows["school"]["concerns"] is None  # Nora's school: 4
    assert "concerns" in rows["school"]["suppressed"]
    assert (rows["preschool"]["concerns"], rows["health_care"]["concerns"], kinds["total"]["concerns"]) == (9, 6, 24)
    assert rows["social_services"]["concerns"] is None  # the complement: 24 − 9 − 6 = 9 = 4 + 5
    # Nora is only the school's 4 and the health centre's 6: Nora − 6 would be the 4.
    assert {group: row["concerns"] for group, row in by_group(municipalities).items()} == {
        "Lindesberg": None,
        "Nora": None,
    }
    assert municipalities["total"]["concerns"] == 24


def test_overlapping_periods_do_not_give_a_hidden_month_back(
    client: TestClient, world: World, county: dict[str, str]
) -> None:
    march = by_group(stats(client, world, **{"from": "2025-03", "to": "2025-03", "group_by": "agency_kind"}))
    both = by_group(stats(client, world, **{"from": "2025-03", "to": "2025-04", "group_by": "agency_kind"}))
    assert march["school"]["concerns"] == 10
    assert both["school"]["concerns"] is None  # else (March–April) − March = April's hidden 4
    assert both["social_services"]["concerns"] is None
    assert (both["preschool"]["concerns"], both["health_care"]["concerns"]) == (16, 14)


def test_by_month_with_a_stock_at_the_end_of_each_month(
    client: TestClient, world: World, county: dict[str, str]
) -> None:
    answer = stats(client, world, **{"from": "2025-03", "to": "2025-04", "group_by": "month"})
    rows = by_group(answer)
    assert [rows["2025-03"][name] for name in ("concerns", "mandatory_reports", "children_with_open_team")] == [
        25,
        8,
        6,
    ]
    # End of April: four children at the Lindesberg school, child 7 now at the Nora health
    # centre — 4 + 1: two hidden cells that add up to 5 would each be bounded below 5, so the
    # total of 5 is hidden too.
    assert [rows["2025-04"][name] for name in ("concerns", "mandatory_reports", "children_with_open_team")] == [
        24,
        0,
        None,
    ]
    assert rows["2025-04"]["median_days_concern_to_team"] is None  # no first team in April
    total = answer["total"]
    assert (total["concerns"], total["mandatory_reports"], total["children_with_open_team"]) == (49, 8, None)
    assert total["median_days_concern_to_team"] == 17.0
    assert total["suppressed"] == ["children_with_open_team"]


def test_the_answer_is_logged_and_repeated_from_the_cache(
    client: TestClient, world: World, county: dict[str, str]
) -> None:
    query = {"from": "2025-03", "to": "2025-04", "group_by": "municipality"}
    first = client.get("/api/v1/statistics", params=query, headers={**world.analyst(), "X-Request-ID": "stats-1"})
    facts = Facts(world, serial=500)  # what the API never does: add to a month that has ended
    facts.concerns(county["school"], "2025-03-16T12:00:00", 20)
    facts.write()
    second = client.get("/api/v1/statistics", params=query, headers={**world.analyst(), "X-Request-ID": "stats-2"})
    assert first.json() == second.json()
    rows = world.sql(
        "SELECT request_id, resource_type, child_id, outcome FROM access_log WHERE route = '/api/v1/statistics'"
    )
    assert sorted(tuple(row) for row in rows) == [
        ("stats-1", "statistics", None, "allowed"),
        ("stats-2", "statistics", None, "allowed"),
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2025-13"},
        {"to": "2025-3"},
        {"from": "2025-05", "to": "2025-04"},
        {"from": "2020-01", "to": "2025-01"},  # more than 36 months
        {"to": "9999-12"},  # a month that has not ended
        {"group_by": "agency"},
    ],
)
def test_periods_are_whole_ended_months(client: TestClient, world: World, query: dict[str, str]) -> None:
    response = client.get("/api/v1/statistics", params=query, headers=world.analyst())
    assert response.status_code == 422, response.text


def test_the_default_period_is_the_twelve_months_that_ended_last(client: TestClient, world: World) -> None:
    answer = stats(client, world)
    assert len(answer["rows"]) == 12
    assert answer["rows"][0]["group"] == answer["from"]
    assert answer["rows"][-1]["group"] == answer["to"]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_an_analyst_gets_403_on_every_other_operation(app: FastAPI, client: TestClient, world: World) -> None:
    headers = world.analyst()
    operations = [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/v1") and path != "/api/v1/statistics"
        for method in item
    ]
    assert len(operations) >= 20
    answers = {(method, path): client.request(method, concrete(path), headers=headers, json={}).status_code
               for method, path in operations}  # fmt: skip
    assert set(answers.values()) == {403}, answers


def test_other_roles_get_403_on_the_statistics(client: TestClient, world: World) -> None:
    school = world.agency("school")
    for headers in (world.headers(school), world.auditor(), world.admin()):
        assert client.get("/api/v1/statistics", headers=headers).status_code == 403


def test_an_agency_admin_creates_an_analyst_with_the_statistics_scope_only(client: TestClient, world: World) -> None:
    municipality = world.agency("social_services")
    response = client.post(
        "/api/v1/clients",
        json={"agency_id": municipality, "role": "analyst", "name": "Ledningens uppföljning"},
        headers=world.agency_admin(municipality),
    )
    assert response.status_code == 201, response.text
    assert (response.json()["role"], response.json()["scopes"]) == ("analyst", ["statistics:read"])
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(response.json()["client_id"], response.json()["client_secret"]),
    )
    assert token.json()["scope"] == "statistics:read"
