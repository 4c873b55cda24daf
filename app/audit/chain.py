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

Fields added after v1 are `EXTENSION_FIELDS`: their values follow the 17 v1 values, *with
trailing nulls removed*. So an entry whose extensions are all null — every entry written before
they existed, and every ordinary entry since — hashes exactly as in v1, and a field appended to
`EXTENSION_FIELDS` later never changes an older entry's hash (new fields only ever go at the end).
`repeat_count`: set only on an entry that stands for a run of identical anonymous denials.
`access_basis` and `consent_id` (issue 22): why the access rule disclosed the record, and the
consent that opened it (a hyphenated UUID as text); null where no child record was disclosed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
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
# Append only, never reorder: see the module docstring.
EXTENSION_FIELDS: tuple[str, ...] = ("repeat_count", "access_basis", "consent_id")


def format_at(at: datetime) -> str:
    """The one text form of an entry's time, used in the hash and in the API."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_at(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def with_extensions(v1_values: tuple[Any, ...], extension_values: Sequence[Any]) -> tuple[Any, ...]:
    """The v1 values followed by the extension values, trailing nulls removed."""
    end = len(extension_values)
    while end and extension_values[end - 1] is None:
        end -= 1
    return v1_values + tuple(extension_values[:end]) if end else v1_values


def canonical_values(entry: Mapping[Any, Any]) -> tuple[Any, ...]:
    """The hashed values, in order, in their canonical types (times and ids as text)."""
    v1 = tuple(_canonical(entry.get(name)) for name in HASHED_FIELDS)
    return with_extensions(v1, [_canonical(entry.get(name)) for name in EXTENSION_FIELDS])


def canonical_bytes(values: tuple[Any, ...]) -> bytes:
    # orjson prints the same bytes as json.dumps(list, separators=(",", ":"), ensure_ascii=False)
    # for these types (tests/audit checks it), several times faster.
    return orjson.dumps(values)


def values_hash(values: tuple[Any, ...]) -> str:
    return hashlib.sha256(canonical_bytes(values)).hexdigest()


def entry_hash(entry: Mapping[Any, Any]) -> str:
    return values_hash(canonical_values(entry))
