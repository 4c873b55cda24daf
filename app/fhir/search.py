"""Search parameters, content negotiation and searchset Bundles.

Strict by design: a parameter this server does not support is 422, not silently ignored (FHIR's
lenient default would answer an unfiltered search to a misspelt `patinet=`, which here could
list every child the caller may see). `_count` is the JSON API's `limit` (1–200, default 50) and
`_cursor` its signed, opaque cursor, bound to the caller, the resource type and the filters.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from app.errors import AppError, unprocessable
from app.fhir.views import ID, FhirCall, Resource, SearchParameter, SearchQuery, SearchResult, instant
from app.http.paging import DEFAULT_LIMIT

FHIR_JSON = "application/fhir+json"
MAX_COUNT = 200
MAX_VALUE_LENGTH = 200
# Result parameters a client may send with any request; `_format` is checked, `_pretty` ignored.
_FORMAT_PARAMETERS = frozenset({"_format", "_pretty"})
_JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json", "application/json+fhir"})
_PAGING_PARAMETERS = frozenset({"_count", "_cursor"})
_FHIR_ID = re.compile(r"[A-Za-z0-9\-\.]{1,64}")


class NotAcceptable(AppError):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


def negotiate(request: Request) -> None:
    """This view speaks FHIR JSON only: `_format` or `Accept` asking for anything else is 406."""
    requested = request.query_params.get("_format")
    if requested is not None and requested.split(";")[0].strip().lower() not in _JSON_FORMATS:
        raise NotAcceptable("Only JSON is served (_format=json or application/fhir+json).")
    accept = request.headers.get("accept")
    if accept and not any(
        kind.split(";")[0].strip() in ("*/*", "application/*") or "json" in kind for kind in accept.split(",")
    ):
        raise NotAcceptable("Only application/fhir+json is served; send Accept: application/fhir+json.")


def _single(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise unprocessable(["query", name], "may be given once")
    if not values[0] or len(values[0]) > MAX_VALUE_LENGTH:
        raise unprocessable(["query", name], f"must be 1–{MAX_VALUE_LENGTH} characters")
    return values[0]


def refuse_parameters(request: Request, allowed: frozenset[str]) -> None:
    unknown = sorted(set(request.query_params.keys()) - allowed - _FORMAT_PARAMETERS)
    if unknown:
        raise unprocessable(["query", unknown[0]], f"unsupported parameter {unknown[0]!r}; see /fhir/R4/metadata")


def _child_reference(name: str, value: str) -> uuid.UUID:
    """`patient`/`subject`: a Patient id, `Patient/{id}` or an absolute URL ending so."""
    kind, _, identifier = value.rstrip("/").rpartition("/")
    if kind and not kind.endswith("Patient"):
        raise unprocessable(["query", name], "only Patient references are supported")
    try:
        return uuid.UUID(identifier)
    except ValueError:
        raise unprocessable(["query", name], "not a Patient id (a UUID)") from None


def _count(request: Request) -> int:
    raw = _single(request, "_count")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_COUNT:
        raise unprocessable(["query", "_count"], f"must be an integer from 1 to {MAX_COUNT}")
    return int(raw)


def parse_search(request: Request, parameters: Sequence[SearchParameter]) -> SearchQuery:
    """The search the query string asks for, or 422 for anything this view does not support."""
    names = {parameter.name for parameter in parameters}
    refuse_parameters(request, frozenset(names) | _PAGING_PARAMETERS)
    binding: dict[str, str] = {}
    child_id: uuid.UUID | None = None
    for name in ("patient", "subject"):
        value = _single(request, name) if name in names else None
        if value is None:
            continue
        if child_id is not None:
            raise unprocessable(["query", name], "give the child once: patient or subject")
        child_id = _child_reference(name, value)
        binding["patient"] = str(child_id)
    ids = _single(request, ID.name) if ID.name in names else None
    if ids is not None:
        if not _FHIR_ID.fullmatch(ids):  # a NUL or other odd bytes must not reach a query (PostgreSQL refuses NUL)
            raise unprocessable(["query", ID.name], "not a FHIR id (1–64 of A-Z a-z 0-9 - .)")
        binding["_id"] = ids
    return SearchQuery(
        count=_count(request), cursor=_single(request, "_cursor"), child_id=child_id, ids=ids, binding=binding
    )


def _link(call: FhirCall, resource_type: str, query: SearchQuery, cursor: str | None) -> str:
    parameters: dict[str, Any] = {**query.binding, "_count": query.count}
    if cursor is not None:
        parameters["_cursor"] = cursor
    return f"{call.base}/{resource_type}?{urlencode(parameters)}"


def searchset(call: FhirCall, resource_type: str, query: SearchQuery, result: SearchResult) -> Resource:
    """A searchset Bundle of the page, with `self` and — when more follow — `next`."""
    links = [{"relation": "self", "url": _link(call, resource_type, query, query.cursor)}]
    if result.next_cursor is not None:
        links.append({"relation": "next", "url": _link(call, resource_type, query, result.next_cursor)})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(datetime.now(UTC)),
        "link": links,
        "entry": [
            {
                "fullUrl": f"{call.base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in result.resources
        ],
    }
