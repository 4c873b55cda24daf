"""A small HTTP client for the reliability tests (as an integrator's system would talk)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from tests.contract.harness import Credentials
from tests.server import issue_token
from tests.support import personnummer


@dataclass
class Api:
    url: str
    token: str

    @classmethod
    def login(cls, url: str, credentials: Credentials) -> Api:
        return cls(url, issue_token(url, credentials.client_id, credentials.client_secret, timeout=30))

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=timeout)

    def child(self, serial: int) -> str:
        with self.client() as http:
            response = http.post("/api/v1/children", json={"personnummer": personnummer("20130405", serial)})
            response.raise_for_status()
            return str(response.json()["id"])

    def consent(self, child: str, agencies: list[str]) -> str:
        body = {
            "child_id": child,
            "granted_by": [{"role": "guardian", "name": "V"}],
            "agency_ids": agencies,
            "record_types": ["concerns"],
            "purpose": "Reliability.",
            "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        }
        with self.client() as http:
            response = http.post("/api/v1/consents", json=body)
            response.raise_for_status()
            return str(response.json()["id"])


def concern_body(child: str) -> dict[str, object]:
    return {
        "child_id": child,
        "areas": ["safe"],
        "description": f"Reliability {uuid.uuid4()}",
        "urgency": "routine",
    }
