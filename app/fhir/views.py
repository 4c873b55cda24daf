"""What a mapping module provides (`ResourceView`) and what it is given (`FhirCall`, `SearchQuery`).

A mapping module is one FHIR resource type: how to read one record of it and how to search them,
both through the JSON API's services, and which scopes and search parameters it has. Adding a
type (CarePlan, Goal) is one such module and one line in registry.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.sequencer import Sequencer
from app.errors import unprocessable
from app.http.context import RequestContext
from app.http.paging import CursorCodec
from app.security.caller import Caller

Resource = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FhirCall:
    """One FHIR request's caller, context and plumbing, as the JSON routes get them."""

    context: RequestContext
    caller: Caller
    session: AsyncSession
    cursors: CursorCodec
    base: str  # the absolute base of this view, from the issuer setting (never the Host header)
    request: Request
    sequencer: Sequencer  # chains what is committed before the log is read (AuditEvent)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search: the filters, the page size and where to resume.

    `binding` holds the filters in canonical text form: it binds the cursor (a cursor issued for
    one patient cannot page another's results) and it is what the Bundle's links repeat.
    """

    count: int
    cursor: str | None = None
    child_id: uuid.UUID | None = None
    ids: str | None = None  # `_id`
    binding: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchResult:
    resources: list[Resource]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class SearchParameter:
    name: str
    type: str  # the FHIR search parameter type: reference, token, …
    documentation: str


# The search parameters that stand for the child; `subject` only where FHIR defines it.
PATIENT = SearchParameter("patient", "reference", "The child (Patient id, or Patient/{id}).")
SUBJECT = SearchParameter("subject", "reference", "The child, as Patient/{id} (or the bare id).")
ID = SearchParameter("_id", "token", "The resource's id.")


@dataclass(frozen=True, slots=True)
class ResourceView:
    type: str
    scopes: tuple[str, ...]  # what the route's caller must hold (as the JSON twin's)
    twin: str  # the JSON API operations this view mirrors, for the CapabilityStatement and readers
    read: Callable[[FhirCall, str], Awaitable[Resource]]
    search: Callable[[FhirCall, SearchQuery], Awaitable[SearchResult]]
    parameters: tuple[SearchParameter, ...]
    documentation: str


# -- small shapes every mapping module uses ------------------------------------------------------
def instant(moment: datetime) -> str:
    """A FHIR instant: UTC with its offset (FHIR requires one on instants)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day(value: date) -> str:
    return value.isoformat()


def reference(resource_type: str, resource_id: object) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    entry = {"system": system, "code": code}
    if display is not None:
        entry["display"] = display
    return entry


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)]}


def record_id(raw: str) -> uuid.UUID:
    """The id of a child record: a UUID, as in the JSON API (where anything else is 422 too)."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise unprocessable(["path", "id"], "not a valid id: ids of this resource type are UUIDs") from None
