"""The spec's `webhooks` (OpenAPI 3.1): one entry per event type, the payload a subscriber receives.

The payload is what app/events/delivery.py `event_body` sends (the feed's thin event, with
`type` fixed to the entry's event type), signed per Standard Webhooks (app/events/signing.py).
"""

from __future__ import annotations

from typing import Any

from app.enums import EventType
from app.schemas.event import EventPublic

REF_TEMPLATE = "#/components/schemas/{model}"
PAYLOAD_SCHEMA = EventPublic.__name__

_HEADERS = {
    "webhook-id": "The event's id (also `id` in the body): the same on every retry, so deduplicate on it.",
    "webhook-timestamp": "Unix seconds when this attempt was signed; reject ones far from your clock.",
    "webhook-signature": "Space-separated `v1,<base64 HMAC-SHA256>` over `{webhook-id}.{webhook-timestamp}.{body}` "
    "with the subscription's secret (base64 after `whsec_`). During a secret rotation's grace period it carries "
    "one signature per valid secret: accept the delivery if any of them verifies.",
}


def _parameters() -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "header",
            "required": True,
            "description": description,
            "schema": {"type": "string", "pattern": r"^\d+$"} if name == "webhook-timestamp" else {"type": "string"},
        }
        for name, description in _HEADERS.items()
    ]
    return parameters


def webhook_entry(event_type: EventType) -> dict[str, Any]:
    read = (
        "The record is gone (retention): drop what you hold of it; there is nothing left to fetch."
        if event_type == EventType.record_purged
        else "Thin: fetch the record through the API to read it."
    )
    return {
        "post": {
            "operationId": f"webhook-{event_type.value.replace('.', '-').replace('_', '-')}",
            "summary": f"`{event_type.value}` delivered to a subscription",
            "description": (
                f"POSTed to each active subscription of the agency that receives `{event_type.value}` and "
                f"subscribed to it, at least once and in feed order. {read} "
                "Answer 2xx within the webhook timeout; anything else is retried with backoff."
            ),
            "tags": ["events"],
            "security": [],
            "parameters": _parameters(),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "allOf": [
                                {"$ref": REF_TEMPLATE.format(model=PAYLOAD_SCHEMA)},
                                {"type": "object", "properties": {"type": {"const": event_type.value}}},
                            ]
                        }
                    }
                },
            },
            "responses": {
                "2XX": {"description": "Received: the subscription moves on to the next event."},
                "default": {"description": "Not received: the same event is retried later (backoff)."},
            },
        }
    }


def add_webhooks(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Every EventType as a webhook; the payload schema is made sure of among the components."""
    if PAYLOAD_SCHEMA not in schemas:
        schema = EventPublic.model_json_schema(ref_template=REF_TEMPLATE)
        schemas.update(schema.pop("$defs", {}))
        schemas[PAYLOAD_SCHEMA] = schema
    document["webhooks"] = {event_type.value: webhook_entry(event_type) for event_type in EventType}
