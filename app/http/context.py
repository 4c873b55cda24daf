"""The per-request context that the pipeline, the access decision and the log share.

The pipeline middleware creates one `RequestContext` per HTTP request and stores it in the ASGI
scope. Routes reach it through dependencies; they never commit, and they never write the log:
they only *describe* what they touched (`audit`), and the pipeline turns that description into
log entries in the same transaction as the request's writes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.security.caller import Caller
from app.security.identifiers import looks_like_identity_number

if TYPE_CHECKING:
    from app.db import Database

SCOPE_KEY = "samhandling.context"
# audit_rows: which basis a list's entry for a child names when its records differ.
_BASIS_WEIGHT = {"own": 1, "named": 2, "reported_to": 3, "team": 4, "consent": 5}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# A UUID, with or without dashes: the usual correlation id, and no personnummer. One in ten
# random hex UUIDs holds ten digits in a row, so without this they would often be replaced.
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def choose_request_id(supplied: str | None) -> str:
    """The caller's X-Request-ID when it is sane, else a fresh one.

    Sane: 1–128 of `A-Z a-z 0-9 . _ -`, and — unless it is a UUID — nothing shaped like a
    personal identity number (ten digits in a row, or YYMMDD-NNNN): the id is written to both logs.
    """
    if not supplied or not _REQUEST_ID.match(supplied):
        return uuid.uuid4().hex
    if _UUID.match(supplied) or not looks_like_identity_number(supplied):
        return supplied
    return uuid.uuid4().hex


@dataclass(slots=True)
class AuditFact:
    """One thing a request touched, as the access log records it."""

    resource_type: str | None
    resource_id: str | None = None
    child_id: uuid.UUID | None = None
    access_basis: str | None = None  # why the access rule disclosed the record (app/security/access.py)
    consent_id: str | None = None


@dataclass(slots=True)
class RequestContext:
    request_id: str
    method: str
    database: Database | None = None
    caller: Caller | None = None
    # The client_id a failed authentication claimed; logged so brute force can be seen and limited.
    claimed_client_id: str | None = None
    # True when the client authenticated with its secret in this very request (the token endpoint).
    client_verified: bool = False
    # Set when the database failed this request (unreachable, timed out): release, don't reuse.
    database_failed: bool = False
    purpose_of_use: str | None = None
    facts: list[AuditFact] = field(default_factory=list)
    read_connection: AsyncConnection | None = None
    read_session: AsyncSession | None = None
    write_session: AsyncSession | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # -- what routes and services report ------------------------------------------------------
    def audit(
        self,
        resource_type: str | None,
        resource_id: object | None = None,
        child_id: uuid.UUID | None = None,
        *,
        basis: str | None = None,
        consent_id: object | None = None,
    ) -> None:
        self.facts.append(
            AuditFact(
                resource_type=resource_type,
                resource_id=None if resource_id is None else str(resource_id),
                child_id=child_id,
                access_basis=basis,
                consent_id=None if consent_id is None else str(consent_id),
            )
        )

    def audit_children(self, resource_type: str, child_ids: list[uuid.UUID]) -> None:
        """A list read: one fact per child whose data the response returns."""
        for child_id in dict.fromkeys(child_ids):
            self.audit(resource_type, None, child_id)

    def audit_rows(self, resource_type: str, rows: Iterable[Any]) -> None:
        """A list read of child records (rows of records.visible_page): one fact per child, with
        the basis that needed the most justification among that child's records — a consent
        (with its id) before team membership, a report, a naming, the agency's own."""
        chosen: dict[uuid.UUID, Any] = {}
        for row in rows:
            held = chosen.get(row.child_id)
            if held is None or _BASIS_WEIGHT.get(row.access_basis, 0) > _BASIS_WEIGHT.get(held.access_basis, 0):
                chosen[row.child_id] = row
        for child_id, row in chosen.items():
            self.audit(resource_type, None, child_id, basis=row.access_basis, consent_id=row.access_consent_id)

    # -- sessions, owned by the pipeline ------------------------------------------------------
    @property
    def reads_only(self) -> bool:
        return self.method in ("GET", "HEAD", "OPTIONS")

    def session(self) -> AsyncSession:
        """Safe methods read on autocommit; everything else writes in one transaction."""
        if self.database is None:
            raise RuntimeError("no database in this request context")
        if self.reads_only:
            if self.read_session is None:  # on the request's read connection, when it has one
                self.read_session = self.database.read_session(self.read_connection)
            return self.read_session
        if self.write_session is None:
            self.write_session = self.database.write_session()
        return self.write_session

    async def connection(self) -> AsyncConnection:
        """A Core connection for plain reads: an autocommit one for safe methods (no ORM session
        around it, which costs more than a short read), else the write session's."""
        if not self.reads_only or self.read_session is not None:
            return await self.session().connection()
        if self.read_connection is None:
            if self.database is None:
                raise RuntimeError("no database in this request context")
            self.read_connection = await self.database.read_connection()
        return self.read_connection


def get_context(request: Request) -> RequestContext:
    context: RequestContext | None = request.scope.get(SCOPE_KEY)
    if context is None:  # only when the app runs without its pipeline, which create_app prevents
        raise RuntimeError("request context missing: the pipeline middleware is not installed")
    return context
