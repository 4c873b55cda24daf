"""The declared purpose of a request (`Purpose-Of-Use`): a closed set of codes, as IHE BALP asks.

Free text would be unreviewable (and could carry personal data into the log); codes can be
filtered, counted and shown to the family in their extract. The header is declared on every
`/api/v1` operation (app/http/openapi.py) and parsed once, in the guarded route
(app/http/guard.py), before the route runs.
"""

from __future__ import annotations

from enum import StrEnum

HEADER = "Purpose-Of-Use"

# The scopes whose reads are reads of child records: with SAMHANDLING_REQUIRE_PURPOSE_OF_USE
# such a read must say why it is made.
CHILD_RECORD_READ_SCOPES = frozenset(
    {"children:read", "concerns:read", "consents:read", "assessments:read", "teams:read", "plans:read"}
)


class PurposeOfUse(StrEnum):
    care = "care"  # care, support or teaching of the child
    investigation = "investigation"  # social services' investigation (utredning)
    coordination = "coordination"  # coordinating agencies' efforts (samverkan, SIP)
    follow_up = "follow_up"  # following up an effort or a plan
    audit = "audit"  # log review, supervision
    legal = "legal"  # a legal obligation (e.g. a mandatory report, a court's request)


DESCRIPTION = (
    "Why the request is made, as a code: " + ", ".join(f"`{code.value}`" for code in PurposeOfUse) + ". Recorded "
    "in the access log (`purpose_of_use`); any other value is 422. With "
    "`SAMHANDLING_REQUIRE_PURPOSE_OF_USE=true` a read of child records without it is 422."
)


class PurposeInvalid(ValueError):
    pass


def parse_purpose(raw: str | None, *, required: bool) -> str | None:
    """The code the header names; PurposeInvalid when it names none, or is absent but required."""
    if raw is None:
        if required:
            raise PurposeInvalid(f"required for reads of child records: one of {', '.join(PurposeOfUse)}")
        return None
    try:
        return PurposeOfUse(raw.strip()).value
    except ValueError:
        raise PurposeInvalid(f"must be one of {', '.join(PurposeOfUse)}") from None
