"""Helpers for the plan tests: a child with a school, social services and a health centre."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from app.db import create_sync_engine
from app.models.base import table_of
from app.models.plan import Plan
from tests.support import Domain, World, in_days


@dataclass
class Circle:
    """The agencies around one child, and shortcuts to the plan endpoints as any of them."""

    world: World
    domain: Domain
    school: str
    social: str
    health: str
    child: str

    @property
    def http(self) -> TestClient:
        return self.world.http

    def as_(self, agency: str, role: str = "practitioner") -> dict[str, str]:
        return self.world.headers(agency, role)

    def create(self, agency: str, *, expect: int = 201, **fields: Any) -> httpx2.Response:
        body = {"child_id": self.child, "kind": "child_plan", "next_review_at": in_days(90), **fields}
        response = self.http.post("/api/v1/plans", json=body, headers=self.as_(agency))
        assert response.status_code == expect, response.text
        return response

    def plan(self, agency: str, **fields: Any) -> dict[str, Any]:
        return dict(self.create(agency, **fields).json())

    def get(self, agency: str, plan_id: str, role: str = "practitioner") -> httpx2.Response:
        return self.http.get(f"/api/v1/plans/{plan_id}", headers=self.as_(agency, role))

    def goal(self, agency: str, plan_id: str, **fields: Any) -> httpx2.Response:
        body = {"area": "safe", "text": "Känna sig trygg på rasterna.", "expressed_by": "child", **fields}
        return self.http.post(f"/api/v1/plans/{plan_id}/goals", json=body, headers=self.as_(agency))

    def action(self, agency: str, plan_id: str, responsible: str | None = None, **fields: Any) -> httpx2.Response:
        body = {"text": "Rastvärd nära eleven.", "responsible_agency_id": responsible or agency, **fields}
        return self.http.post(f"/api/v1/plans/{plan_id}/actions", json=body, headers=self.as_(agency))

    def review(
        self, agency: str, plan_id: str, progress: list[dict[str, Any]] | None = None, **fields: Any
    ) -> httpx2.Response:
        body = {"held_at": iso_now(), "progress": progress or [], "next_review_at": in_days(120), **fields}
        return self.http.post(f"/api/v1/plans/{plan_id}/reviews", json=body, headers=self.as_(agency))

    def patch(self, agency: str, plan_id: str, action_id: str, status: str, etag: str | None) -> httpx2.Response:
        headers = {**self.as_(agency), **({"If-Match": etag} if etag is not None else {})}
        return self.http.patch(f"/api/v1/plans/{plan_id}/actions/{action_id}", json={"status": status}, headers=headers)

    def etag(self, agency: str, plan_id: str) -> str:
        response = self.get(agency, plan_id)
        assert response.status_code == 200, response.text
        return response.headers["etag"]

    def close(self, agency: str, plan_id: str) -> httpx2.Response:
        return self.http.post(f"/api/v1/plans/{plan_id}/close", json={"reason": "Klart."}, headers=self.as_(agency))

    def plans_consent(self, recorder: str, agencies: list[str], confirmed_by: list[str] | None = None) -> str:
        """A consent covering plans, recorded by `recorder` and confirmed by `confirmed_by`
        (default: every named agency)."""
        consent = self.domain.consent(recorder, self.child, agencies, ("plans",))
        for agency in agencies if confirmed_by is None else confirmed_by:
            if agency != recorder:
                self.domain.confirm(agency, consent["id"])
        return str(consent["id"])


def circle(world: World, domain: Domain) -> Circle:
    school = world.agency("school")
    return Circle(
        world, domain, school, world.agency("social_services"), world.agency("health_care"), domain.child(school)
    )


def move_review_date(world: World, plan_id: str, moment: datetime) -> None:
    """Put a plan's review date where the API never would (in the past), behind its back."""
    engine = create_sync_engine(world.settings)
    try:
        with engine.begin() as connection:
            plans = table_of(Plan)
            connection.execute(plans.update().where(plans.c.id == uuid.UUID(plan_id)).values(next_review_at=moment))
    finally:
        engine.dispose()


def iso_now(offset: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + offset).isoformat()


def problem_type(response: httpx2.Response) -> str:
    return str(response.json()["type"]).removeprefix("urn:samhandling:problem:")
