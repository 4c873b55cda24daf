"""Children: register-or-find (always 200, no hint of an earlier registration), read by id."""

from __future__ import annotations

import uuid

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.support import World, personnummer


def register(client: TestClient, headers: dict[str, str], number: str) -> httpx2.Response:
    return client.post("/api/v1/children", json={"personnummer": number}, headers=headers)


def test_registering_twice_or_by_another_agency_gives_the_same_answer(client: TestClient, world: World) -> None:
    school, police = world.agency("school"), world.agency("police")
    number = personnummer("20120304", 56)
    first = register(client, world.headers(school), number)
    again = register(client, world.headers(school), number[:8] + "-" + number[8:])
    other = register(client, world.headers(police), number)
    assert first.status_code == again.status_code == other.status_code == 200
    assert first.json() == again.json() == other.json()
    assert first.json()["birth_date"] == "2012-03-04"


def test_a_child_is_readable_by_any_children_reader(client: TestClient, world: World) -> None:
    school, health = world.agency("school"), world.agency("health_care")
    child = register(client, world.headers(school), personnummer("20120304", 57)).json()
    response = client.get(f"/api/v1/children/{child['id']}", headers=world.headers(health))
    assert response.status_code == 200
    assert response.json() == child
    assert response.headers["etag"]


def test_unknown_child_is_404(client: TestClient, world: World) -> None:
    response = client.get(f"/api/v1/children/{uuid.uuid4()}", headers=world.headers(world.agency("school")))
    assert response.status_code == 404


@pytest.mark.parametrize("number", ["201203045678", "2012-03-04", "x" * 12, "20120304567", "20121304-5678"])
def test_invalid_numbers_are_422_without_echoing_them(client: TestClient, world: World, number: str) -> None:
    response = register(client, world.headers(world.agency("school")), number)
    assert response.status_code == 422
    assert number not in response.text


def test_auditors_and_admins_hold_no_child_data(client: TestClient, world: World) -> None:
    for headers in (world.auditor(), world.admin()):
        assert register(client, headers, personnummer("20120304", 58)).status_code == 403
        assert client.get(f"/api/v1/children/{uuid.uuid4()}", headers=headers).status_code == 403


def test_no_personnummer_reaches_the_log(client: TestClient, world: World) -> None:
    school = world.agency("school")
    number = personnummer("20120304", 59)
    child = register(client, world.headers(school), number).json()
    register(client, world.headers(school), "201203045999")  # an invalid one, refused
    client.get(f"/api/v1/children/{child['id']}", headers=world.headers(school))
    everything = repr(world.sql("SELECT * FROM access_log"))
    assert number not in everything
    assert "201203045999" not in everything
    assert child["id"].replace("-", "") in everything.replace("-", "")  # the child is logged by id
