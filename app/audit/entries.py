"""Turning what a request did into access-log entries (before they are chained)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.http.context import AuditFact, RequestContext

DENIED_STATUSES = frozenset({401, 403, 404, 429})


def outcome_for(status_code: int) -> str:
    if status_code < 400:
        return "allowed"
    if status_code in DENIED_STATUSES:
        return "denied"
    return "error"


def build_entries(
    context: RequestContext,
    *,
    status_code: int,
    route: str | None,
    action: str,
    at: datetime,
) -> list[dict[str, Any]]:
    """One entry per fact the request reported, or one bare entry when it reported none.

    A failed request keeps the facts it reported (the record and child a denied read was
    aimed at belong in that child's access report) but never claims an allowed outcome.
    """
    caller = context.caller
    common = {
        "at": at,
        "request_id": context.request_id,
        "client_id": caller.client_id if caller else context.claimed_client_id,
        "agency_id": caller.agency_id if caller else None,
        "role": caller.role if caller else None,
        "action": action,
        "method": context.method,
        "route": route,
        "status_code": status_code,
        "outcome": outcome_for(status_code),
        "jti": caller.jti if caller else None,
        "purpose_of_use": context.purpose_of_use,
    }
    facts: list[AuditFact | None] = list(context.facts) or [None]
    return [
        {
            **common,
            "resource_type": fact.resource_type if fact else None,
            "resource_id": fact.resource_id if fact else None,
            "child_id": fact.child_id if fact else None,
            "access_basis": fact.access_basis if fact else None,
            "consent_id": fact.consent_id if fact else None,
        }
        for fact in facts
    ]


def as_revoked(entries: list[dict[str, Any]] | Any) -> list[dict[str, Any]]:
    """The entries of a request whose client turned out revoked: 401, denied."""
    return [{**entry, "status_code": 401, "outcome": "denied"} for entry in entries]
