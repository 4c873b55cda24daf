"""The hash chain's canonical form: what an entry's hash covers, exactly.

An entry's hash is SHA-256, lower-case hex, over the UTF-8 bytes of a JSON object holding the
fields in `HASHED_FIELDS` (the entry's `prev_hash` included), keys sorted, no whitespace
(separators `,` and `:`), non-ASCII characters written as themselves, `null` for absent values,
`status_code` and `seq` as integers, `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, always six
fraction digits) and `child_id` as a lower-case hyphenated UUID. This is what Python's
`json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` prints, so an
auditor can re-check the chain from the API's JSON with a few lines of their own (README).
The first entry's `prev_hash` is 64 zeros.
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


def canonical_fields(entry: Mapping[Any, Any]) -> dict[str, Any]:
    fields = {name: entry.get(name) for name in HASHED_FIELDS}
    at = fields["at"]
    if isinstance(at, datetime):
        fields["at"] = format_at(at)
    child_id = fields["child_id"]
    if isinstance(child_id, uuid.UUID):
        fields["child_id"] = str(child_id)
    return fields


def canonical_bytes(entry: Mapping[Any, Any]) -> bytes:
    # orjson with sorted keys prints the same bytes as json.dumps(sort_keys=True,
    # separators=(",", ":"), ensure_ascii=False) for these field types (tests/audit checks it);
    # it is several times faster, which matters when verification walks millions of entries.
    return orjson.dumps(canonical_fields(entry), option=orjson.OPT_SORT_KEYS)


def entry_hash(entry: Mapping[Any, Any]) -> str:
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()
