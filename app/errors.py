"""Typed application errors: what services raise, each with its status and problem `type`.

No HTTP types here: services raise these, app/http/problems.py renders every one as RFC 9457
problem+json, and routes declare the ones they can raise (`problems(404, TeamClosed)` in
app/routers/responses.py) so that the spec lists each problem type with its status. A 409 is
always a subclass of `Conflict` with its own `type`: a client tells the conditions apart by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:samhandling:problem:"


class AppError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"
    media_type: str = PROBLEM_MEDIA_TYPE

    @classmethod
    def problem_type(cls) -> str:
        return PROBLEM_TYPE_BASE + cls.slug

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
    """The request conflicts with a record's state. Raise a subclass: each condition has its own
    problem type; `conflict` itself is left for a constraint no service anticipated."""

    status, slug, title = 409, "conflict", "Conflict"


class AgencyAlreadyExists(Conflict):
    """An agency with this id is already registered."""

    slug, title = "agency-already-exists", "Agency already exists"


class ClientAlreadyRevoked(Conflict):
    """The client is already revoked."""

    slug, title = "client-already-revoked", "Client already revoked"


class ConcernTransitionNotAllowed(Conflict):
    """The concern's workflow does not lead from its status to the one asked for."""

    slug, title = "concern-transition-not-allowed", "Status change not allowed"


class ConsentAlreadyConfirmed(Conflict):
    """The caller's agency has already confirmed the consent (or recorded it)."""

    slug, title = "consent-already-confirmed", "Consent already confirmed"


class ConsentAlreadyWithdrawn(Conflict):
    """The consent is withdrawn."""

    slug, title = "consent-already-withdrawn", "Consent already withdrawn"


class ConsentExpired(Conflict):
    """The consent's validity has ended."""

    slug, title = "consent-expired", "Consent expired"


class TeamAlreadyOpen(Conflict):
    """The caller may see an open team for the child; close it first."""

    slug, title = "team-already-open", "The child already has an open team"


class TeamClosed(Conflict):
    """The team is closed: it takes no members and cannot be closed again."""

    slug, title = "team-closed", "Team closed"


class TeamRoleTaken(Conflict):
    """The team already has an active member in this role (contact person, coordinator)."""

    slug, title = "team-role-taken", "Role already held"


class MemberNeedsConsent(Conflict):
    """A member from another agency needs an active, confirmed consent that covers teams."""

    slug, title = "member-needs-consent", "Member needs consent"


class MembershipAlreadyEnded(Conflict):
    """The membership has already ended."""

    slug, title = "membership-already-ended", "Membership already ended"


class SubscriptionLimitReached(Conflict):
    """The client has as many webhook subscriptions as it may."""

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
