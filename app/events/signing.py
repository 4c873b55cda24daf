"""Standard Webhooks signatures: HMAC-SHA256 over "id.timestamp.body", `whsec_` secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_webhook_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC>`."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    content = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def sign_all(secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,` signature per secret, space-separated (Standard Webhooks): during a rotation's
    grace period a receiver holding either the old or the new secret can verify."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets)
