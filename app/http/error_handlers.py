"""Exception handlers: everything the app raises becomes one RFC 9457 problem+json shape."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from app.errors import AppError
from app.http.context import SCOPE_KEY
from app.http.idempotency import Replay
from app.http.problems import problem_response, render_app_error
from app.http.routing import flat_routes
from app.observability import describe_error

logger = logging.getLogger(__name__)

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def _request_id(request: Request) -> str | None:
    context = request.scope.get(SCOPE_KEY)
    return getattr(context, "request_id", None)


def _clean_validation_errors(raw: Any) -> list[dict[str, Any]]:
    """`loc` and `msg` only: the rejected input can hold a personal identity number."""
    cleaned = []
    for error in raw:
        loc = [part if isinstance(part, (str, int)) else str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error")
            message = f"Malformed JSON: {reason}" if reason else "Malformed JSON"
        cleaned.append({"loc": loc, "msg": message})
    return cleaned


# A body can be made to fail in thousands of places; the answer names the first ones only.
MAX_REPORTED_ERRORS = 20


def _summary(errors: list[dict[str, Any]], total: int) -> str:
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"]) or "request"
    more = f" (and {total - 1} more)" if total > 1 else ""
    unlisted = total - len(errors)
    listed = f"; `errors` lists the first {len(errors)}, {unlisted} more are not listed" if unlisted > 0 else ""
    return f"{where}: {first['msg']}{more}{listed}"


async def handle_app_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, AppError)
    return render_app_error(error, _request_id(request))


async def handle_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    raw = error.errors()
    errors = _clean_validation_errors(raw[:MAX_REPORTED_ERRORS])
    return problem_response(
        422,
        "validation-error",
        "The request is not valid",
        _summary(errors, len(raw)),
        request_id=_request_id(request),
        errors=errors,
    )


async def handle_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    slug, title = _HTTP_SLUGS.get(error.status_code, ("http-error", "HTTP error"))
    detail = error.detail if isinstance(error.detail, str) else title
    headers = dict(getattr(error, "headers", None) or {})
    if error.status_code == 404 and detail == "Not Found":
        detail = "There is no such resource."
    if error.status_code == 405:
        allowed = allowed_methods(request.app, request.scope)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}."
    return problem_response(error.status_code, slug, title, detail, request_id=_request_id(request), headers=headers)


def allowed_methods(app: Any, scope: MutableMapping[str, Any]) -> list[str]:
    """All methods of every route on this path — Starlette's 405 names only the first route's."""
    methods: set[str] = set()
    for route in flat_routes(app.routes):
        match, _ = route.matches({**scope, "method": "__none__"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return sorted(methods - {"HEAD"})


async def handle_integrity_error(request: Request, error: Exception) -> Response:
    # Services turn the constraint violations they expect into precise 409s; one that reaches
    # here is a conflict nobody anticipated, still the caller's state and not a server fault.
    logger.warning("unanticipated integrity error: %s", describe_error(error))
    return problem_response(
        409,
        "conflict",
        "Conflict",
        "The request conflicts with the current state of a record.",
        request_id=_request_id(request),
    )


async def handle_replay(request: Request, replay: Exception) -> Response:
    assert isinstance(replay, Replay)
    return Response(replay.body, status_code=replay.status, headers=replay.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Replay, handle_replay)
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
