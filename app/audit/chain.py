"""The hash chain's canonical form: what an entry's hash covers, exactly.

An entry's hash is SHA-256, lower-case hex, over the UTF-8 bytes of a JSON array holding the
values of the fields in `HASHED_FIELDS`, in that order (the entry's `prev_hash` last), with no
whitespace (separators `,` and `:`), non-ASCII characters written as themselves, `null` for
absent values, `status_code` and `seq` as integers, `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC,
always six fraction digits) and `child_id` as a lower-case hyphenated UUID. This is what
Python's `json.dumps([entry[f] for f in HASHED_FIELDS], separators=(",", ":"),
ensure_ascii=False)` prints, so an auditor can re-check the chain from the API's JSON with a few
lines of their own (README). An array in a fixed order is as unambiguous as an object and
cheaper to produce, which matters when verification walks millions of entries. The first
entry's `prev_hash` is 64 zeros.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "request_id",
    "client_id",
    "agency_id",
    "role",
    "action",
    "resource_type",
    "resource_id",
    "child_id",
    "method",
    "route",
    "status_code",
    "outcome",
    "jti",
    "purpose_of_use",
    "prev_hash",
)


def format_at(at: datetime) -> str:
    """The one text form of an entry's time, used in the hash and in the API."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_values(entry: Mapping[Any, Any]) -> tuple[Any, ...]:
    """The hashed values, in order, in their canonical types (times and ids as text)."""
    values = []
    for name in HASHED_FIELDS:
        value = entry.get(name)
        if isinstance(value, datetime):
            value = format_at(value)
        elif isinstance(value, uuid.UUID):
            value = str(value)
        values.append(value)
    return tuple(values)


def canonical_bytes(values: tuple[Any, ...]) -> bytes:
    # orjson prints the same bytes as json.dumps(list, separators=(",", ":"), ensure_ascii=False)
    # for these types (tests/audit checks it), several times faster.
    return orjson.dumps(values)


def values_hash(values: tuple[Any, ...]) -> str:
    return hashlib.sha256(canonical_bytes(values)).hexdigest()


def entry_hash(entry: Mapping[Any, Any]) -> str:
    return values_hash(canonical_values(entry))
