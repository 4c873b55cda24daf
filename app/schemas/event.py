"""Thin events, the feed's pages, webhook subscriptions and their deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.enums import EventType
from app.schemas.common import StrictInput, UniqueItems


class EventPublic(BaseModel):
    """What changed, never what it says: fetch the record through the API to read it."""

    id: uuid.UUID
    type: EventType
    occurred_at: datetime
    record_type: str = Field(
        description="`concern`, `consent`, `assessment`, `team`, … or `client`; `child` for a purged child."
    )
    record_id: str = Field(
        max_length=64,
        description="The record's id: a UUID for a child's record, the rule for `signal.raised`, the client_id "
        "for `client.*`.",
    )
    child_id: uuid.UUID | None = Field(description="The child the record is about; null for `client.*` events.")
    actor_agency_id: str | None


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: str = Field(description="Where to resume: pass as `after` (also when this page is empty).")


# No spaces or control characters, spelt out: `\s` means more in Python (\x1c-\x1f, \x85) than
# in the ECMA regexes of the spec's readers, so a URL the spec allowed was refused.
URL_PATTERN = r"^https?://[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+$"


class SubscriptionCreate(StrictInput):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2000, pattern=URL_PATTERN)]
    event_types: Annotated[
        list[EventType], Field(min_length=1, max_length=10), UniqueItems("each event type may appear once")
    ]

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://socialtjanst.example.se/samhandling/webhook",
                    "event_types": ["concern.received", "consent.withdrawn"],
                }
            ]
        },
    )


class SubscriptionPublic(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[EventType]
    status: str = Field(description="`active`, or `disabled` after a day of failed deliveries.")
    created_at: datetime


class SubscriptionCreated(SubscriptionPublic):
    secret: str = Field(description="`whsec_` + base64; verifies `webhook-signature`. Shown only here.")


class SubscriptionSecretRotated(SubscriptionCreated):
    previous_secret_expires_at: datetime = Field(
        description="Until then deliveries are signed with the old secret too (a second `v1,` signature)."
    )


class DeliveryPublic(BaseModel):
    event_id: uuid.UUID = Field(description="Also the `webhook-id` header of the delivery.")
    event_type: EventType
    attempt: int
    attempted_at: datetime
    outcome: str = Field(description="`delivered` or `failed`.")
    status_code: int | None
    error: str | None
    duration_ms: int
