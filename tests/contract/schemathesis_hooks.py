"""Schemathesis hooks for the contract runs (loaded by tests/contract/test_schemathesis.py).

`schema_valid_requests_meet_only_domain_rules`: a request schemathesis generated to fit the spec
may be refused with 422 only by a rule the spec cannot state — a record that does not exist, a
Luhn digit, a date in the future, a cursor this API did not issue (api-contract.md). Every other
422 means the spec is looser than the server (a repeated item, an empty object, a month 13): that
is a failure, to be fixed in the spec or the server. Schemathesis' own positive-data-acceptance
check therefore lets 422 through (schemathesis.toml) and this one looks at each error in it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import schemathesis
from jsonschema import Draft202012Validator

# The messages of the domain rules (app/services, app/security/identifiers.py, app/http/paging.py …).
DOMAIN_RULES = re.compile(
    "|".join(
        [
            r"there is no such child",
            r"there is no agency",
            r"unknown agencies",
            r"must include the recording agency",
            r"must name a social_services agency",
            r"valid_until must be after valid_from",
            r"must be after valid_from",
            r"must be after since",  # chronology: until > since, a relation between two parameters
            r"period_to must not be before period_from",  # a documented log review's period, in order
            r"first \(\d+\) must not exceed second \(\d+\)",  # a consistency proof runs forward
            r"lies in the past",
            r"lies in the future",
            r"lies more than \d+ years ahead",
            r"lies outside the range of UTC timestamps",  # an offset that moves 0001-01-01 out of range
            r"not a cursor this list issued",
            r"the date part is not a real calendar date",  # 20230230…
            r"the check digit is wrong",
            r"the organisation number's check digit is wrong",
            r"this key was used with another request body",
            r"must not hold a personal identity number",  # Purpose-Of-Use, X-Request-ID
            r"only an admin client can be a platform admin",
            r"webhook allowlist|SAMHANDLING_WEBHOOK_ALLOWLIST",  # a URL outside the allowlist setting
            r"not a valid URL|the URL has no host|credentials in the URL are not allowed",
            # A plan review's progress names each goal once: uniqueness by goal_id, which uniqueItems
            # (whole items) cannot state — two entries for one goal with different notes are distinct.
            r"each goal may appear once",
            r"leaf|tree|consistency|inclusion|seq|tree_size",  # a proof for entries that do not exist
        ]
    )
)


def _errors(response: Any) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except Exception:
        return [{"loc": [], "msg": "(not JSON)"}]
    if not isinstance(body, dict):
        return [{"loc": [], "msg": repr(body)[:200]}]
    return body.get("errors") or [{"loc": [], "msg": str(body.get("detail"))}]


@cache
def _body_validator(spec_id: int, path: str, method: str) -> Draft202012Validator | None:
    spec = _SPECS[spec_id]
    body = spec["paths"][path][method].get("requestBody", {}).get("content", {}).get("application/json")
    if body is None:
        return None
    return Draft202012Validator({**body["schema"], "components": spec["components"]})


_SPECS: dict[int, dict[str, Any]] = {}


def _body_fits_the_spec(case: Any) -> bool:
    """Whether the JSON body really fits the spec: the generator may merge an `anyOf` branch into
    an object loosely (a rating of 576 in a "positive" case), which is no mismatch of the server's."""
    spec = case.operation.schema.raw_schema
    _SPECS[id(spec)] = spec
    validator = _body_validator(id(spec), case.operation.path, case.operation.method.lower())
    if validator is None or not isinstance(case.body, dict | list):
        return True
    return bool(validator.is_valid(case.body))


@schemathesis.check
def schema_valid_requests_meet_only_domain_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if not _body_fits_the_spec(case):
        return None
    unexplained = [error for error in _errors(response) if not DOMAIN_RULES.search(str(error.get("msg", "")))]
    if unexplained:
        raise AssertionError(f"A schema-valid request was refused with 422 by no domain rule: {unexplained}")
    return None


def _with_check_digit(number: str) -> str:
    """The personnummer with its Luhn digit set right: the pattern cannot say it, so random
    numbers are mostly 422 — and then no child is registered and no link from it is followed."""
    digits = number.replace("-", "")
    body = digits[2:11]
    total = 0
    for index, char in enumerate(body):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    check = (10 - total % 10) % 10
    fixed = digits[:11] + str(check)
    return f"{fixed[:8]}-{fixed[8:]}" if "-" in number else fixed


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    operation = getattr(context, "operation", None)
    if (
        operation is not None
        and operation.path == "/api/v1/children"
        and isinstance(body, dict)
        and isinstance(body.get("personnummer"), str)
        and re.fullmatch(r"[0-9]{8}-?[0-9]{4}", body["personnummer"])
    ):
        return {**body, "personnummer": _with_check_digit(body["personnummer"])}
    return body
