"""Compass assessments: the eight areas, ratings 1–5, immutability, and the compass view."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.support import Domain, World, in_days


@pytest.fixture
def setting(world: World, domain: Domain) -> dict[str, str]:
    school, social = world.agency("school"), world.agency("social_services")
    return {"school": school, "social": social, "child": domain.child(school)}


def assess(
    client: TestClient, world: World, agency: str, child: str, perspective: str, areas: dict[str, Any], **fields: Any
) -> httpx2.Response:
    body = {"child_id": child, "perspective": perspective, "areas": areas, **fields}
    return client.post("/api/v1/assessments", json=body, headers=world.headers(agency))


def test_recording_an_assessment(client: TestClient, world: World, setting: dict[str, str]) -> None:
    response = assess(
        client,
        world,
        setting["school"],
        setting["child"],
        "professional",
        {"safe": {"rating": 2, "needs": "Otrygg."}, "included": {"strengths": "Har vänner."}},
    )
    assert response.status_code == 201, response.text
    assessment = response.json()
    assert assessment["areas"]["safe"] == {"rating": 2, "strengths": None, "needs": "Otrygg."}
    assert assessment["areas"]["included"]["rating"] is None
    assert set(assessment["areas"]) == {"safe", "included"}
    fetched = client.get(response.headers["location"], headers=world.headers(setting["school"]))
    assert fetched.json() == assessment


@pytest.mark.parametrize(
    "areas",
    [
        {},
        {"safe": {}},
        {"safe": {"rating": None}},
        {"safe": {"rating": 0}},
        {"safe": {"rating": 6}},
        {"safe": {"rating": 2.5}},
        {"safe": {"rating": "3"}},
        {"happy": {"rating": 3}},
        {"safe": {"rating": 3, "mood": "ok"}},
        {"safe": {"strengths": ""}},
    ],
)
def test_invalid_areas_are_422(
    client: TestClient, world: World, setting: dict[str, str], areas: dict[str, Any]
) -> None:
    response = assess(client, world, setting["school"], setting["child"], "professional", areas)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_every_rating_from_1_to_5(client: TestClient, world: World, setting: dict[str, str], rating: int) -> None:
    response = assess(client, world, setting["school"], setting["child"], "child", {"active": {"rating": rating}})
    assert response.status_code == 201


def test_unknown_perspective_and_future_date_are_422(client: TestClient, world: World, setting: dict[str, str]) -> None:
    areas = {"safe": {"rating": 3}}
    assert assess(client, world, setting["school"], setting["child"], "teacher", areas).status_code == 422
    future = assess(client, world, setting["school"], setting["child"], "child", areas, assessed_at=in_days(3))
    assert future.status_code == 422


def test_assessments_are_never_edited(client: TestClient, world: World, setting: dict[str, str]) -> None:
    created = assess(client, world, setting["school"], setting["child"], "child", {"safe": {"rating": 3}}).json()
    url = f"/api/v1/assessments/{created['id']}"
    headers = world.headers(setting["school"])
    for method in ("PATCH", "PUT", "DELETE"):
        response = client.request(method, url, json={"areas": {"safe": {"rating": 5}}}, headers=headers)
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get(url, headers=headers).json() == created


def test_assessments_follow_the_consent_rule(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    created = assess(client, world, setting["school"], setting["child"], "child", {"safe": {"rating": 3}}).json()
    url = f"/api/v1/assessments/{created['id']}"
    social = world.headers(setting["social"])
    assert client.get(url, headers=social).status_code == 404
    domain.consent(setting["school"], setting["child"], [setting["school"], setting["social"]], ("concerns",))
    assert client.get(url, headers=social).status_code == 404  # consent for concerns only
    domain.consent(setting["school"], setting["child"], [setting["school"], setting["social"]], ("assessments",))
    assert client.get(url, headers=social).status_code == 200
    listed = client.get("/api/v1/assessments", params={"child_id": setting["child"]}, headers=social).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]


def test_police_never_read_assessments(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    police = world.agency("police")
    domain.consent(setting["school"], setting["child"], [setting["school"], police], ("assessments",))
    headers = world.headers(police)
    assert client.get("/api/v1/assessments", headers=headers).status_code == 403
    assert client.get(f"/api/v1/children/{setting['child']}/compass", headers=headers).status_code == 403


def test_the_compass_shows_latest_previous_and_change_per_perspective(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school, social, child = setting["school"], setting["social"], setting["child"]
    domain.shared_consent(school, child, [school, social], ("assessments",))
    sequence: list[tuple[str, str, str, dict[str, Any]]] = [
        (school, "professional", in_days(-30), {"safe": {"rating": 2}, "healthy": {"rating": 4}}),
        (social, "professional", in_days(-10), {"safe": {"rating": 3}, "achieving": {"strengths": "Läser mycket."}}),
        (school, "professional", in_days(-1), {"safe": {"rating": 5}}),
        (school, "child", in_days(-2), {"respected": {"rating": 1}}),
        (social, "guardian", in_days(-20), {"nurtured": {"rating": 4}}),
        (social, "guardian", in_days(-5), {"nurtured": {"rating": 2}}),
    ]
    for agency, perspective, when, areas in sequence:
        response = assess(client, world, agency, child, perspective, areas, assessed_at=when)
        assert response.status_code == 201

    compass = client.get(f"/api/v1/children/{child}/compass", headers=world.headers(school)).json()
    professional = compass["perspectives"]["professional"]
    assert (professional["safe"]["latest"], professional["safe"]["previous"], professional["safe"]["change"]) == (
        5,
        3,
        2,
    )
    assert professional["safe"]["agency_id"] == school
    assert (professional["healthy"]["latest"], professional["healthy"]["previous"]) == (4, None)
    assert professional["healthy"]["change"] is None
    assert "achieving" not in professional  # text only, no rating
    guardian = compass["perspectives"]["guardian"]["nurtured"]
    assert (guardian["latest"], guardian["previous"], guardian["change"]) == (2, 4, -2)
    assert compass["perspectives"]["child"]["respected"]["latest"] == 1


def test_the_compass_uses_only_what_the_caller_may_see(
    client: TestClient, world: World, domain: Domain, setting: dict[str, str]
) -> None:
    school, social, child = setting["school"], setting["social"], setting["child"]
    assess(client, world, school, child, "professional", {"safe": {"rating": 2}}, assessed_at=in_days(-3))
    assess(client, world, social, child, "professional", {"safe": {"rating": 4}}, assessed_at=in_days(-1))
    mine = client.get(f"/api/v1/children/{child}/compass", headers=world.headers(school)).json()
    assert mine["perspectives"]["professional"]["safe"] == {
        **mine["perspectives"]["professional"]["safe"],
        "latest": 2,
        "previous": None,
    }
    health = world.agency("health_care")
    empty = client.get(f"/api/v1/children/{child}/compass", headers=world.headers(health)).json()
    assert empty == {"child_id": child, "perspectives": {}}
