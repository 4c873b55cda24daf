"""Roles, agency kinds and the scopes they give: the contract's table, in one place."""

from __future__ import annotations

from app.enums import AgencyKind, Role

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "children:read": "Read children (id, personal identity number, birth date).",
    "children:write": "Register children by personal identity number.",
    "concerns:read": "Read concerns the consent rule lets the agency see.",
    "concerns:write": "Raise concerns and move them through their workflow.",
    "consents:read": "Read consent records that name the agency.",
    "consents:write": "Record, confirm (for the agency's own records) and withdraw consent.",
    "assessments:read": "Read needs-compass assessments the consent rule lets the agency see.",
    "assessments:write": "Record needs-compass assessments.",
    "teams:read": "Read the child's team where the consent rule allows.",
    "teams:write": "Create teams, add and end members, close teams.",
    "plans:read": "Read the child's plan where the consent rule allows.",
    "plans:write": "Create plans; add goals, actions and reviews; close plans.",
    "statistics:read": "Read the leaders' indicators: suppressed aggregates over all agencies, no records.",
    "audit:read": "Read and verify the whole access log; a child's access report.",
    "events:read": "Read the agency's event feed.",
    "events:manage": "Manage the client's webhook subscriptions.",
    "admin": "Manage the agency's clients; a platform admin every agency and client (no child data).",
}
ALL_SCOPES = frozenset(SCOPE_DESCRIPTIONS)

_PRACTITIONER = frozenset(
    {
        *(
            f"{area}:{mode}"
            for area in ("children", "concerns", "consents", "assessments", "teams", "plans")
            for mode in ("read", "write")
        ),
        "events:read",
        "events:manage",
    }
)
# Minimum necessary: police systems do not read needs assessments, record consent, or run teams
# and plans (they read them where the consent rule allows).
_POLICE_PRACTITIONER = frozenset(
    {
        "children:read",
        "children:write",
        "concerns:read",
        "concerns:write",
        "consents:read",
        "teams:read",
        "plans:read",
        "events:read",
        "events:manage",
    }
)


def scopes_for(kind: AgencyKind | str, role: Role | str) -> frozenset[str]:
    """The scopes a client of this agency kind and role may hold."""
    if role == Role.auditor:
        return frozenset({"audit:read"})
    if role == Role.admin:
        return frozenset({"admin"})
    if role == Role.analyst:  # counts only, disclosure-controlled: no child data, no log
        return frozenset({"statistics:read"})
    if role == Role.practitioner:
        return _POLICE_PRACTITIONER if kind == AgencyKind.police else _PRACTITIONER
    raise ValueError(f"unknown role {role!r}")


def format_scopes(scopes: frozenset[str] | set[str]) -> str:
    return " ".join(sorted(scopes))
