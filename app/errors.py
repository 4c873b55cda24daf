"""Typed application errors and their one rendering: RFC 9457 problem+json.

Services raise `AppError` subclasses; routers declare the ones they can produce (see
`problem_responses`) so that OpenAPI shows them; one exception handler renders them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:samhandling:problem:"


class AppError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"
    media_type: str = PROBLEM_MEDIA_TYPE

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = dict(headers or {})
        self.errors = list(errors) if errors is not None else None
        self.extra: dict[str, Any] = {}


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "Bad request"


class InvalidToken(AppError):
    status, slug, title = 401, "invalid-token", "Invalid or missing access token"

    def __init__(self, detail: str = "The access token is missing, malformed, expired or revoked."):
        # The header stays fixed ASCII; the body's detail says what exactly is wrong.
        super().__init__(
            detail,
            headers={
                "WWW-Authenticate": 'Bearer realm="samhandling", error="invalid_token", '
                'error_description="The access token is missing or not valid"'
            },
        )


class InsufficientScope(AppError):
    status, slug, title = 403, "insufficient-scope", "Insufficient scope"

    def __init__(self, needed: Iterable[str]):
        scopes = " ".join(sorted(needed))
        super().__init__(
            f"This operation needs the scope(s): {scopes}.",
            headers={"WWW-Authenticate": f'Bearer realm="samhandling", error="insufficient_scope", scope="{scopes}"'},
        )


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(AppError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class RequestTimeout(AppError):
    status, slug, title = 408, "request-timeout", "Request timeout"

    def __init__(self, detail: str):
        super().__init__(detail, headers={"Connection": "close"})


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class ConsentAlreadyConfirmed(Conflict):
    slug, title = "consent-already-confirmed", "Consent already confirmed"


class ConsentAlreadyWithdrawn(Conflict):
    slug, title = "consent-already-withdrawn", "Consent already withdrawn"


class ConsentExpired(Conflict):
    slug, title = "consent-expired", "Consent expired"


class TeamAlreadyOpen(Conflict):
    slug, title = "team-already-open", "The child already has an open team"


class SubscriptionLimitReached(Conflict):
    slug, title = "subscription-limit-reached", "Subscription limit reached"


class PreconditionFailed(AppError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(AppError):
    status, slug, title = 422, "validation-error", "The request is not valid"


class PreconditionRequired(AppError):
    status, slug, title = 428, "precondition-required", "Precondition required"


class TooManyRequests(AppError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, retry_after_seconds: int, detail: str | None = None):
        retry_after = max(1, int(retry_after_seconds))
        super().__init__(
            detail or f"Too many requests; retry after {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"

    def __init__(self, detail: str = "The service cannot reach its database right now."):
        super().__init__(detail, headers={"Retry-After": "1"})


def unprocessable(loc: Sequence[str | int], msg: str) -> Unprocessable:
    """A 422 for one field, shaped like a body-validation error."""
    return Unprocessable(msg, errors=[{"loc": list(loc), "msg": msg}])


def problem_body(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    request_id: str | None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if errors is not None:
        body["errors"] = [dict(error) for error in errors]
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    request_id: str | None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = problem_body(status=status, slug=slug, title=title, detail=detail, request_id=request_id, errors=errors)
    return Response(orjson.dumps(body), status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE)


def render_app_error(error: AppError, request_id: str | None) -> Response:
    body = problem_body(
        status=error.status,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        request_id=request_id,
        errors=error.errors,
        extra=error.extra,
    )
    return Response(orjson.dumps(body), status_code=error.status, headers=error.headers, media_type=error.media_type)
