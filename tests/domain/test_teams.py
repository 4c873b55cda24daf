"""The child's team: one open team per child, single roles, consent for other agencies' members."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.server import running_server
from tests.support import Domain, World


@pytest.fixture
def setting(world: World, domain: Domain) -> dict[str, str]:
    school, social = world.agency("school"), world.agency("social_services")
    return {"school": school, "social": social, "child": domain.child(school)}


def form(client: TestClient, world: World, agency: str, child: str) -> httpx2.Response:
    return client.post("/api/v1/teams", json={"child_id": child, "purpose": "SIP"}, headers=world.headers(agency))


def add(
    client: TestClient, world: World, by: str, team: str, agency: str, role: str, name: str = "Person"
) -> httpx2.Response:
    return client.post(
        f"/api/v1/teams/{team}/members",
        json={"agency_id": agency, "role": role, "person_name": name, "person_title": "Titel"},
        headers=world.headers(by),
    )


def test_forming_a_team_and_adding_the_schools_own_staff(
    client: TestClient, world: World, setting: dict[str, str]
) -> None:
    response = form(client, world, setting["school"], setting["child"])
    assert response.status_code == 201
    team = response.json()
    assert (team["status"], team["members"], team["agency_id"]) == ("open", [], setting["school"])
    member = add(client, world, setting["school"], team["id"], setting["school"], "contact_person", "Lena Lärare")
    assert member.status_code == 201, member.text
    assert member.headers["location"].endswith(member.json()["id"])
    assert client.get(member.headers["location"], headers=world.headers(setting["school"])).json() == member.json()
    fetched = client.get(f"/api/v1/teams/{team['id']}", headers=world.headers(setting["school"])).json()
    assert [item["person_name"] for item in fetched["members"]] == ["Lena Lärare"]


def test_one_open_team_per_child_for_its_agency(client: TestClient, world: World, setting: dict[str, str]) -> None:
    first = form(client, world, setting["school"], setting["child"])
    second = form(client, world, setting["school"], setting["child"])
    assert second.status_code == 409
    assert second.json()["type"] == "urn:samhandling:problem:team-already-open"
    closed = client.post(f"/api/v1/teams/{first.json()['id']}/close", headers=world.headers(setting["school"]))
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert form(client, world, setting["school"], setting["child"]).status_code == 201


def test_an_unrelated_agency_cannot_squat_the_childs_team(
    client: TestClient, world: World, setting: dict[str, str]
) -> None:
    """A team the caller cannot see neither blocks its create nor is revealed by it."""
    school, child = setting["school"], setting["child"]
    squatter = world.agency("school")
    squatted = form(client, world, squatter, child)
    assert squatted.status_code == 201
    real = form(client, world, school, child)
    assert real.status_code == 201, real.text
    assert client.get(f"/api/v1/teams/{squatted.json()['id']}", headers=world.headers(school)).status_code == 404
    listed = client.get("/api/v1/teams", params={"child_id": child}, headers=world.headers(school)).json()["items"]
    assert [item["id"] for item in listed] == [real.json()["id"]]
    assert client.post(f"/api/v1/teams/{squatted.json()['id']}/close", headers=world.headers(school)).status_code == 404
    assert form(client, world, squatter, child).status_code == 409  # its own still blocks it


def test_a_team_the_caller_may_see_by_confirmed_consent_blocks_a_second(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school, social, child = setting["school"], setting["social"], setting["child"]
    school_team = form(client, world, school, child).json()["id"]
    consent = domain.consent(social, child, [school, social], ("teams",))
    # Recorded by social services alone: the school's team stays the school's, so no block, no leak.
    social_team = form(client, world, social, child)
    assert social_team.status_code == 201
    domain.confirm(school, consent["id"])
    # Now both open teams are visible to both agencies; both stay readable, nothing is merged.
    for agency in (school, social):
        listed = client.get("/api/v1/teams", params={"child_id": child}, headers=world.headers(agency)).json()
        assert {item["id"] for item in listed["items"]} == {school_team, social_team.json()["id"]}
    health = world.agency("health_care")
    domain.shared_consent(school, child, [school, health], ("teams",))
    assert form(client, world, health, child).status_code == 409


def test_at_most_one_active_contact_person_and_coordinator(
    client: TestClient, world: World, setting: dict[str, str]
) -> None:
    team = form(client, world, setting["school"], setting["child"]).json()["id"]
    school = setting["school"]
    first = add(client, world, school, team, school, "coordinator")
    assert first.status_code == 201
    taken = add(client, world, school, team, school, "coordinator")
    assert taken.status_code == 409
    assert taken.json()["type"] == "urn:samhandling:problem:team-role-taken"
    assert add(client, world, school, team, school, "contact_person").status_code == 201
    assert add(client, world, school, team, school, "contact_person").status_code == 409
    assert add(client, world, school, team, school, "member").status_code == 201
    assert add(client, world, school, team, school, "member").status_code == 201
    ended = client.delete(f"/api/v1/teams/{team}/members/{first.json()['id']}", headers=world.headers(school))
    assert ended.status_code == 200
    assert ended.json()["ended_at"] is not None
    assert add(client, world, school, team, school, "coordinator").status_code == 201
    again = client.delete(f"/api/v1/teams/{team}/members/{first.json()['id']}", headers=world.headers(school))
    assert again.status_code == 409
    assert again.json()["type"] == "urn:samhandling:problem:membership-already-ended"
    members = client.get(f"/api/v1/teams/{team}", headers=world.headers(school)).json()["members"]
    assert len(members) == 5  # the ended membership stays on record


def test_another_agencys_member_needs_consent_covering_teams(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school, social, child = setting["school"], setting["social"], setting["child"]
    team = form(client, world, school, child).json()["id"]
    refused = add(client, world, school, team, social, "member")
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:samhandling:problem:member-needs-consent"
    domain.consent(school, child, [school, social], ("concerns",))
    assert add(client, world, school, team, social, "member").status_code == 409
    unconfirmed = domain.consent(social, child, [school, social], ("teams",))
    assert add(client, world, school, team, social, "coordinator").status_code == 409  # not the school's word
    domain.confirm(school, unconfirmed["id"])
    assert add(client, world, school, team, social, "coordinator").status_code == 201
    assert add(client, world, school, team, "no-such-agency", "member").status_code == 422


def test_the_coordinators_agency_may_manage_the_team_others_may_not(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school, social, child = setting["school"], setting["social"], setting["child"]
    health = world.agency("health_care")
    team = form(client, world, school, child).json()["id"]
    domain.consent(school, child, [school, social, health], ("teams",))
    assert add(client, world, social, team, social, "member").status_code == 403
    assert add(client, world, school, team, social, "coordinator").status_code == 201
    assert add(client, world, social, team, health, "member").status_code == 201
    assert add(client, world, health, team, health, "member").status_code == 403
    assert client.post(f"/api/v1/teams/{team}/close", headers=world.headers(health)).status_code == 403
    assert client.post(f"/api/v1/teams/{team}/close", headers=world.headers(social)).status_code == 200
    closed = client.post(f"/api/v1/teams/{team}/close", headers=world.headers(school))
    assert closed.status_code == 409
    assert closed.json()["type"] == "urn:samhandling:problem:team-closed"
    refused = add(client, world, school, team, school, "member")  # closed
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:samhandling:problem:team-closed"


def test_a_members_agency_loses_sight_of_the_team_when_consent_ends(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school, social, child = setting["school"], setting["social"], setting["child"]
    team = form(client, world, school, child).json()["id"]
    consent = domain.consent(school, child, [school, social], ("teams",))
    assert add(client, world, school, team, social, "member").status_code == 201
    social_headers = world.headers(social)
    assert client.get(f"/api/v1/teams/{team}", headers=social_headers).status_code == 200
    listed = client.get("/api/v1/teams", params={"child_id": child}, headers=social_headers).json()["items"]
    assert [item["id"] for item in listed] == [team]
    domain.withdraw(school, consent["id"])
    assert client.get(f"/api/v1/teams/{team}", headers=social_headers).status_code == 404
    assert client.get("/api/v1/teams", params={"child_id": child}, headers=social_headers).json()["items"] == []
    members = client.get(f"/api/v1/teams/{team}", headers=world.headers(school)).json()["members"]
    assert [member["agency_id"] for member in members] == [social]  # the membership stays on record


def test_police_read_but_do_not_run_teams(client: TestClient, world: World, domain: Domain) -> None:
    police = world.agency("police")
    child = domain.child(police)
    assert form(client, world, police, child).status_code == 403
    assert client.get("/api/v1/teams", headers=world.headers(police)).status_code == 200


def race(url: str, requests: list[tuple[str, str, dict[str, str], dict[str, Any]]]) -> list[int]:
    """Send the requests at the same moment from separate threads; return their statuses."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def send(index: int) -> None:
        method, path, body, headers = requests[index]
        with httpx.Client(base_url=url, timeout=30) as http:
            barrier.wait()
            statuses[index] = http.request(method, path, json=body, headers=headers).status_code

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_creates_and_coordinators_have_exactly_one_winner(
    dialect: str,
    settings: Settings,
    world: World,
    domain: Domain,
    setting: dict[str, str],
    tmp_path: Path,
    attempt: int,
) -> None:
    if dialect != "postgresql":
        pytest.skip("the race is PostgreSQL's: SQLite has one writer at a time")
    school, child = setting["school"], setting["child"]
    headers = world.headers(school)
    # The world's tokens name the test app's issuer; a server on another port would derive its own.
    with running_server(
        settings.database_url, settings.signing_key_file, tmp_path / "server.log", SAMHANDLING_ISSUER=settings.issuer
    ) as server:
        team_body = {"child_id": child}
        assert race(server.url, [("POST", "/api/v1/teams", team_body, headers)] * 2) == [201, 409]
        team = world.sql("SELECT id FROM teams WHERE child_id = :c", c=child)
        team_id = team[0].id
        member = {"agency_id": school, "role": "coordinator", "person_name": "K"}
        path = f"/api/v1/teams/{team_id}/members"
        assert race(server.url, [("POST", path, member, headers)] * 2) == [201, 409]
    assert len(world.sql("SELECT id FROM teams WHERE status = 'open'")) == 1
