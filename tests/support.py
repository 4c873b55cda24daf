"""Factories for tests: agencies, clients and tokens, made the way an operator would make them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.db import create_sync_engine
from app.models.base import table_of
from app.models.consent import Consent, ConsentConfirmation, ConsentParty
from app.ops.operator import operator_transaction
from app.schemas.agency import AgencyCreate
from app.services.agencies import create_agency
from app.services.clients import create_client
from app.settings import Settings


def personnummer(birth: str = "20150612", serial: int = 238) -> str:
    """A valid 12-digit personal identity number: YYYYMMDD, a 3-digit serial, the check digit."""
    body = f"{birth}{serial:03d}"
    total = 0
    for index, char in enumerate(body[2:]):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    agency_id: str
    role: str


@dataclass
class World:
    """Agencies, clients and tokens on one app under test."""

    settings: Settings
    http: TestClient
    _tokens: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    _credentials: dict[tuple[str, str, bool], Credentials] = field(default_factory=dict)

    def agency(self, kind: str, agency_id: str | None = None, **extra: Any) -> str:
        agency_id = agency_id or f"{kind.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
        data = AgencyCreate(id=agency_id, kind=kind, name=f"{kind} {agency_id}", **extra)

        async def add() -> None:
            async with operator_transaction(self.settings, "agencies add") as (session, _context):
                await create_agency(session, data)

        asyncio.run(add())
        return agency_id

    def client(self, agency_id: str, role: str = "practitioner", *, platform: bool = False) -> Credentials:
        key = (agency_id, role, platform)
        if key not in self._credentials:

            async def add() -> Credentials:
                async with operator_transaction(self.settings, "clients add") as (session, _context):
                    client, _kind, secret = await create_client(
                        session, agency_id=agency_id, role=role, name=f"{role} of {agency_id}", platform=platform
                    )
                return Credentials(client.client_id, secret, agency_id, role)

            self._credentials[key] = asyncio.run(add())
        return self._credentials[key]

    def token(self, credentials: Credentials, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        response = self.http.post("/oauth/token", data=form, auth=(credentials.client_id, credentials.client_secret))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def headers(self, agency_id: str, role: str = "practitioner", *, platform: bool = False) -> dict[str, str]:
        """Authorization headers for a (cached) token of this agency's client in this role."""
        key = (agency_id, role, platform)
        if key not in self._tokens:
            self._tokens[key] = self.token(self.client(agency_id, role, platform=platform))
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def admin(self) -> dict[str, str]:
        """A platform admin's headers: it manages every agency and client."""
        return self.headers(self._operations_agency(), "admin", platform=True)

    def agency_admin(self, agency_id: str) -> dict[str, str]:
        """An agency's own admin: it manages that agency's clients only."""
        return self.headers(agency_id, "admin")

    def auditor(self) -> dict[str, str]:
        return self.headers(self._operations_agency(), "auditor")

    def analyst(self) -> dict[str, str]:
        """A leaders' client: the statistics, nothing else."""
        return self.headers(self._operations_agency(), "analyst")

    def _operations_agency(self) -> str:
        if "operations" not in {key[0] for key in self._credentials}:
            if not self.sql("SELECT 1 FROM agencies WHERE id = 'operations'"):
                self.agency("social_services", "operations")
        return "operations"

    def sql_write(self, statement: str, **parameters: Any) -> None:
        """Change the database behind the service's back (to set up what the API never does)."""
        engine = create_sync_engine(self.settings)
        try:
            with engine.begin() as connection:
                connection.execute(text(statement), parameters)
        finally:
            engine.dispose()

    def sql(self, statement: str, **parameters: Any) -> list[Any]:
        """Read the database directly (assertions only)."""
        engine = create_sync_engine(self.settings)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(statement), parameters).all())
        finally:
            engine.dispose()


@contextmanager
def from_address(http: TestClient, host: str) -> Iterator[TestClient]:
    """Send this test client's requests from another source address (the ASGI `client`)."""
    transport = http._transport  # Starlette's test transport, which fills in scope["client"]
    previous = transport.client  # type: ignore[attr-defined]
    transport.client = (host, 50000)  # type: ignore[attr-defined]
    try:
        yield http
    finally:
        transport.client = previous  # type: ignore[attr-defined]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def in_days(days: float) -> str:
    return iso(datetime.now(UTC) + timedelta(days=days))


@dataclass
class Domain:
    """Children, concerns and consents made through the API, for the domain tests."""

    world: World
    _serial: int = 100

    @property
    def http(self) -> TestClient:
        return self.world.http

    def child(self, agency_id: str) -> str:
        self._serial += 1
        response = self.http.post(
            "/api/v1/children",
            json={"personnummer": personnummer("20140301", self._serial)},
            headers=self.world.headers(agency_id),
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def concern(self, agency_id: str, child_id: str, **fields: Any) -> dict[str, Any]:
        body = {"child_id": child_id, "areas": ["safe"], "description": "Orolig.", "urgency": "routine", **fields}
        response = self.http.post("/api/v1/concerns", json=body, headers=self.world.headers(agency_id))
        assert response.status_code == 201, response.text
        return dict(response.json())

    def consent(
        self,
        agency_id: str,
        child_id: str,
        agency_ids: list[str],
        record_types: tuple[str, ...] = ("concerns",),
        **fields: Any,
    ) -> dict[str, Any]:
        body = {
            "child_id": child_id,
            "granted_by": [{"role": "guardian", "name": "Vårdnadshavare"}],
            "agency_ids": agency_ids,
            "record_types": list(record_types),
            "purpose": "Samordnat stöd.",
            "valid_until": in_days(180),
            **fields,
        }
        response = self.http.post("/api/v1/consents", json=body, headers=self.world.headers(agency_id))
        assert response.status_code == 201, response.text
        return dict(response.json())

    def confirm(self, agency_id: str, consent_id: str) -> dict[str, Any]:
        """The agency confirms the consent for its own records."""
        response = self.http.post(f"/api/v1/consents/{consent_id}/confirm", headers=self.world.headers(agency_id))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def shared_consent(
        self,
        agency_id: str,
        child_id: str,
        agency_ids: list[str],
        record_types: tuple[str, ...] = ("concerns",),
        **fields: Any,
    ) -> dict[str, Any]:
        """A consent recorded by `agency_id` and confirmed by every other named agency."""
        consent = self.consent(agency_id, child_id, agency_ids, record_types, **fields)
        for party in agency_ids:
            if party != agency_id:
                consent = self.confirm(party, consent["id"])
        return consent

    def past_consent(
        self,
        agency_id: str,
        child_id: str,
        agency_ids: list[str],
        record_types: tuple[str, ...] = ("concerns",),
        confirmed_by: list[str] | None = None,
    ) -> str:
        """A consent whose window has ended (the API refuses to record one): straight into the
        database, confirmed by `confirmed_by` (default: every party)."""
        consent_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        engine = create_sync_engine(self.world.settings)
        try:
            with engine.begin() as connection:
                consents, parties = table_of(Consent), table_of(ConsentParty)
                connection.execute(
                    consents.insert().values(
                        id=uuid.UUID(consent_id),
                        child_id=uuid.UUID(child_id),
                        agency_id=agency_id,
                        granted_by=[{"role": "guardian", "name": "V"}],
                        covers_concerns="concerns" in record_types,
                        covers_assessments="assessments" in record_types,
                        covers_teams="teams" in record_types,
                        purpose="Tidigare samtycke.",
                        valid_from=now - timedelta(days=60),
                        valid_until=now - timedelta(days=1),
                        created_at=now - timedelta(days=60),
                    )
                )
                for party in agency_ids:
                    connection.execute(
                        parties.insert().values(
                            consent_id=uuid.UUID(consent_id), agency_id=party, child_id=uuid.UUID(child_id)
                        )
                    )
                    if confirmed_by is not None and party not in confirmed_by:
                        continue
                    connection.execute(
                        table_of(ConsentConfirmation)
                        .insert()
                        .values(
                            consent_id=uuid.UUID(consent_id), agency_id=party, confirmed_at=now - timedelta(days=60)
                        )
                    )
        finally:
            engine.dispose()
        return consent_id

    def withdraw(self, agency_id: str, consent_id: str) -> None:
        response = self.http.post(
            f"/api/v1/consents/{consent_id}/withdraw",
            json={"withdrawn_by": {"role": "guardian", "name": "Vårdnadshavare"}},
            headers=self.world.headers(agency_id),
        )
        assert response.status_code == 200, response.text
