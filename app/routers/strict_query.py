"""Unknown query parameters are 422, not silently ignored (a dependency for strict routes).

A misspelt filter that is ignored returns more than was asked for, which on the access log
means an auditor reads the wrong answer and trusts it. The allowed names are the route's own
declared query parameters, so the spec and the check cannot drift apart.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.errors import Unprocessable

_ALLOWED: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _allowed(route: APIRoute) -> frozenset[str]:
    names = _ALLOWED.get(id(route))
    if names is None:
        names = _ALLOWED[id(route)] = frozenset(_query_names(route.dependant))
    return names


async def reject_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params.keys()) - _allowed(route))
    if unknown:
        raise Unprocessable(
            f"Unknown query parameter(s): {', '.join(unknown[:5])}.",
            errors=[{"loc": ["query", name], "msg": "unknown query parameter"} for name in unknown[:20]],
        )
