"""Which requests the access log covers, and which route a request is for.

`is_audited` decides what the pipeline logs. It does not trust the path to be canonical: a path
that only *becomes* an API path once percent-decoded, with repeated slashes collapsed, dot
segments resolved or letters lower-cased (`//api/v1/…`, `/api//v1`, `/API/v1`, `/api%2Fv1`,
`/%61pi/v1`, `/./api/v1`) is audited too. The router matches nothing of those but the decoded
form, so each such request is either served and logged like the canonical one, or refused (404)
and still logged — never answered outside the log. The FHIR view (`/fhir`, app/fhir/) is audited
like `/api/v1`, all but its public CapabilityStatement.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from starlette.routing import Match
from starlette.types import Scope

AUDITED_ROOTS = ("/api", "/oauth", "/fhir")
# The FHIR CapabilityStatement is public and holds no record, like /openapi.json: not logged.
UNAUDITED = frozenset({"/fhir/R4/metadata"})
_SLASHES = re.compile(r"[/\\]+")
_MAX_DECODING_ROUNDS = 3  # %25252F … → /


def _decoded(path: str) -> str:
    for _ in range(_MAX_DECODING_ROUNDS):
        step = unquote(path)
        if step == path:
            break
        path = step
    return path


def _under_audited_root(path: str) -> bool:
    return any(path == root or path.startswith(root + "/") for root in AUDITED_ROOTS)


def is_audited(path: str) -> bool:
    """Whether a request for `path` is written to the access log (see the module docstring)."""
    if path.startswith(("/api/v1/", "/oauth/token", "/fhir/R4/")) or path == "/api/v1":  # the canonical fast path
        return path not in UNAUDITED
    collapsed = _SLASHES.sub("/", _decoded(path)).lower()
    return _under_audited_root(collapsed) or _under_audited_root(posixpath.normpath(collapsed or "/"))


def flat_routes(routes: Iterable[Any]) -> list[Any]:
    """Every route, through included routers (FastAPI keeps them nested)."""
    flat = []
    for route in routes:
        nested = getattr(getattr(route, "original_router", None), "routes", None)
        flat.extend(flat_routes(nested) if nested is not None else [route])
    return flat


def _action(route: Any) -> str:
    return str(getattr(route, "operation_id", None) or getattr(route, "name", None) or "unmatched")


def route_of(scope: Scope, status: int, routes: Iterable[Any] = ()) -> tuple[str | None, str]:
    """The route template and the action name the log records for a request.

    After routing, the scope names the route. A 405 names the path's route but no operation of
    it (the first route on the path would otherwise be logged as the action, e.g. a DELETE as
    `concerns-get`). A request answered before routing (a 429 for an anonymous flood) is
    matched against `routes` here.
    """
    route = scope.get("route")
    if route is None:
        route = _matching(scope, routes)
    template = getattr(route, "path", None)
    if status == 405:
        return template, "method-not-allowed"
    return template, _action(route) if route is not None else "unmatched"


def _matching(scope: Scope, routes: Iterable[Any]) -> Any:
    partial = None
    for route in flat_routes(routes):
        match, _child = route.matches(scope)
        if match == Match.FULL:
            return route
        if match == Match.PARTIAL and partial is None:
            partial = route
    return partial
