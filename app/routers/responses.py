"""What routes declare about their errors and headers, so the spec shows them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.errors import PROBLEM_MEDIA_TYPE, AppError
from app.http.guard import GuardedRoute
from app.schemas.problem import Problem

_DESCRIPTIONS = {
    400: "Bad request.",
    401: "The access token is missing, malformed, expired, wrongly signed or its client revoked.",
    403: "The token lacks a scope this operation needs, or the caller's agency may not do this.",
    404: "No such record — or one the caller may not see (the two are indistinguishable).",
    405: "Method not allowed.",
    409: "The request conflicts with the record's current state.",
    412: "`If-Match` does not match the record's current ETag.",
    413: "The request body is too large.",
    422: "The request is not valid; `errors` says where.",
    428: "This operation needs an `If-Match` header with the record's ETag.",
    429: "Too many requests; see `Retry-After`.",
    503: "The database or the access log is unavailable; nothing was done or returned.",
}

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}

REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The caller's X-Request-ID when sane (1–128 of A-Z a-z 0-9 . _ -; unless a UUID, no "
        "run of ten digits or YYMMDD-NNNN, which may be a personal identity number), else a new id.",
        "schema": {"type": "string"},
    }
}
ETAG_HEADER = {"ETag": {"description": "A strong entity tag of this representation.", "schema": {"type": "string"}}}
LOCATION_HEADER = {"Location": {"description": "The new record's URL.", "schema": {"type": "string"}}}

GUARDED_ERRORS = (401, 403, 422, 429, 503)


def problems(*declared: int | type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries, as problem+json, for these statuses and typed errors.

    A typed error (`problems(404, TeamClosed)`) declares its status and names its problem `type`
    in that status's description and examples, so integrators see each condition in the spec.
    """
    typed: dict[int, list[type[AppError]]] = {}
    for item in declared:
        if isinstance(item, int):
            typed.setdefault(item, [])
        else:
            typed.setdefault(item.status, []).append(item)
    entries: dict[int | str, dict[str, Any]] = {}
    for status, errors in typed.items():
        media: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Problem"}}
        description = _DESCRIPTIONS[status]
        if errors:
            description += " Problem types:\n\n" + "\n".join(
                f"- `{error.problem_type()}`: {_first_line(error.__doc__)}" for error in errors
            )
            media["examples"] = {error.slug: _example(error) for error in errors}
        entry: dict[str, Any] = {
            "description": description,
            "content": {PROBLEM_MEDIA_TYPE: media},
            "headers": dict(REQUEST_ID_HEADER),
        }
        if status in (429, 503):
            entry["headers"].update(_RETRY_AFTER)
        entries[status] = entry
    return entries


def _first_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _example(error: type[AppError]) -> dict[str, Any]:
    detail = _first_line(error.__doc__)
    body = {"type": error.problem_type(), "title": error.title, "status": error.status, "detail": detail}
    return {"summary": error.title, "value": {**body, "request_id": "0f8e2c1d9a7b4e6f8a1c3d5e7f9b2a4c"}}


def guarded_router(tag: str) -> APIRouter:
    """A router whose every route needs a token (GuardedRoute) and declares the common errors."""
    return APIRouter(
        prefix="/api/v1",
        tags=[tag],
        route_class=GuardedRoute,
        responses=problems(*GUARDED_ERRORS),
    )


def success(description: str, *headers: dict[str, Any], model: Any = None) -> dict[str, Any]:
    """A success response declaration with headers (X-Request-ID always)."""
    entry: dict[str, Any] = {"description": description, "headers": dict(REQUEST_ID_HEADER)}
    for header in headers:
        entry["headers"].update(header)
    if model is not None:
        entry["model"] = model
    return entry


EXTRA_MODELS = (Problem,)


Link = tuple[str, str, dict[str, str]]


def links(*targets: Link) -> dict[str, Any]:
    """OpenAPI links from a response to the operations that use what it returned."""
    return {
        "links": {
            name: {"operationId": operation_id, "parameters": parameters} for name, operation_id, parameters in targets
        }
    }


def link_to(name: str, operation_id: str, **parameters: str) -> dict[str, Any]:
    return links((name, operation_id, parameters))


def body_links(*targets: tuple[str, str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Links that put what a response returned into the next request's body, e.g. a registered
    child's id into a concern: a generated client or fuzzer following them creates real records
    instead of naming random ids (the fields given are merged into the body it builds)."""
    return {name: {"operationId": operation_id, "requestBody": body} for name, operation_id, body in targets}


def created(description: str, *targets: Link) -> dict[str, Any]:
    """A 201 with Location and ETag headers and links to the operations that use the new record."""
    return {**success(description, LOCATION_HEADER, ETAG_HEADER), **links(*targets)}
