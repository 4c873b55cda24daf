"""Limits the attack review found missing: a missing scope spends the rate limit, a 422 lists a
bounded number of errors, JSON nests at most 32 levels."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support import Domain, World


def test_requests_refused_for_a_missing_scope_spend_the_rate_limit(settings: Settings) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 5})
    with TestClient(create_app(limited)) as client:
        world = World(limited, client)
        headers = world.headers(world.agency("school"))
        probes = [client.get("/api/v1/access-log", headers=headers).status_code for _ in range(7)]
        assert probes == [403] * 5 + [429] * 2
        assert client.get("/api/v1/concerns", headers=headers).status_code == 429


def test_a_422_lists_at_most_twenty_errors_and_says_how_many_more(
    client: TestClient, world: World, domain: Domain
) -> None:
    school = world.agency("school")
    body: dict[str, Any] = {
        "child_id": domain.child(school),
        "areas": ["safe"],
        "description": "x",
        "urgency": "routine",
    }
    body |= {f"unknown_{index}": index for index in range(100)}
    response = client.post("/api/v1/concerns", json=body, headers=world.headers(school))
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == 20
    assert "(and 99 more)" in problem["detail"]
    assert "80 more are not listed" in problem["detail"]


def nested(depth: int) -> Any:
    value: Any = "safe"
    for _ in range(depth):
        value = [value]
    return value


def test_json_nested_deeper_than_32_levels_is_refused_before_validation(
    client: TestClient, world: World, domain: Domain
) -> None:
    school = world.agency("school")
    base = {"child_id": domain.child(school), "description": "x", "urgency": "routine"}
    headers = {**world.headers(school), "Content-Type": "application/json"}
    deep = client.post("/api/v1/concerns", content=json.dumps({**base, "areas": nested(40)}), headers=headers)
    assert deep.status_code == 422
    assert deep.json()["errors"] == [{"loc": ["body"], "msg": "JSON nested deeper than 32 levels"}]
    wide = client.post(
        "/api/v1/concerns", content=json.dumps({**base, "areas": [[["safe"]]] * 20}), headers=headers
    )  # many brackets, shallow: validated as usual
    assert wide.status_code == 422
    assert "nested deeper" not in wide.text
    just = client.post("/api/v1/concerns", content=json.dumps({**base, "areas": nested(31)}), headers=headers)
    assert "nested deeper" not in just.text  # the body itself is level 1: 32 in all
