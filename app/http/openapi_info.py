"""The words integrators read first: the spec's title, description and tags."""

from __future__ import annotations

from app import __version__

API_TITLE = "Samhandling API"
API_VERSION = __version__

API_DESCRIPTION = """\
Samhandling lets the agencies around a child — preschool, school, social services, health
care and police — share **concerns**, **consent records**, **needs-compass assessments** and
**team assignments** under the Swedish *Backa barnet* model (early coordinated support, built
on Scotland's GIRFEC). Its users are the agencies' own line-of-business systems.

**Authentication.** Each agency system is an OAuth 2.0 client. It obtains a short-lived JWT
access token at `POST /oauth/token` (client credentials, `client_secret_basic` or
`client_secret_post`) and sends it as `Authorization: Bearer …`. The client's role decides its
scopes; every operation below lists the scopes it needs.

**The consent rule.** Secrecy is the default. An agency sees the records it created itself. It
sees another agency's record about a child only while an *active* consent for that child names
both agencies, covers that kind of record (`concerns`, `assessments`, `teams`, `plans`) and has been
**confirmed by the agency that holds the record** (`POST /api/v1/consents/{id}/confirm`; the
agency that records a consent confirms it by recording); a withdrawn or expired consent ends
access at once. A concern reported to a social-services
agency (a mandatory report, *orosanmälan*) is visible to that agency without consent. A record
the caller may not see is answered exactly like one that does not exist: `404`.

**The access log.** Every request to `/api/v1` and `/oauth/token` — reads, writes, denials,
failed logins — is written to an append-only, hash-chained access log before its response is
sent, in the same transaction as any write. If the entry cannot be written the request fails
with `503` and returns no data. Auditors read the log, verify the chain and extract a child's
access report (GDPR art. 15) under the `audit:read` scope.

**Conventions.** JSON in UTF-8; RFC 3339 timestamps; UUID ids; personal identity numbers never
appear in paths or query strings. Errors are RFC 9457 `application/problem+json` with a
`request_id`. Lists are cursor-paged (`limit`, `cursor` → `next_cursor`). Single resources carry
a strong `ETag`; `PATCH` needs `If-Match`. Creating `POST`s accept an `Idempotency-Key`.
Every response carries `X-Request-ID`.
"""

OPENAPI_TAGS = [
    {"name": "oauth", "description": "Tokens and the metadata clients need to obtain and check them."},
    {"name": "agencies", "description": "Agencies (administration, scope `admin`)."},
    {
        "name": "clients",
        "description": "Agency clients and their credentials (administration, scope `admin`).",
    },
    {"name": "children", "description": "Children, identified between systems by personal identity number."},
    {"name": "concerns", "description": "Concerns about a child (oro, orosanmälan) and their workflow."},
    {"name": "consents", "description": "Consent records that lift secrecy between named agencies."},
    {
        "name": "assessments",
        "description": "Needs-compass assessments (Behovskompassen) in eight wellbeing areas.",
    },
    {
        "name": "teams",
        "description": "The child's team across agencies: contact person, coordinator, members.",
    },
    {
        "name": "plans",
        "description": "The child's plan (barnets plan, SIP): goals in the compass areas, actions, reviews.",
    },
    {
        "name": "statistics",
        "description": "Indicators for leaders across agencies, small numbers suppressed (`statistics:read`).",
    },
    {
        "name": "signals",
        "description": "Early-warning signals (tidig upptäckt), worked out for the caller from what it may see.",
    },
    {"name": "access-log", "description": "The access log, its verification and a child's access report."},
    {
        "name": "events",
        "description": "What changed for the caller's agency: a pull feed and signed webhooks.",
    },
    {"name": "operations", "description": "Liveness, readiness and metrics for the platform."},
]
