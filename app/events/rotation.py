"""Webhook secret rotation: a new secret now, the old one still signing for a grace period.

Rotating seals the current secret as the previous one, valid until now + the grace
(SAMHANDLING_WEBHOOK_SECRET_GRACE_SECONDS), and a new secret as the current one. Deliveries
sign with every secret valid at the moment of the attempt (app/events/delivery.py), so a
receiver can switch to the new secret at any time within the grace period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from app.events.secret_box import seal, unseal
from app.events.signing import new_webhook_secret
from app.models.event import Subscription


def rotate(subscription: Subscription, key_file: Path, grace_seconds: float, now: datetime) -> tuple[str, datetime]:
    """Give the subscription a new secret (returned, shown once); the current one becomes the previous,
    valid until the returned moment."""
    secret = new_webhook_secret()
    expires = now + timedelta(seconds=grace_seconds)
    subscription.previous_secret_ciphertext = subscription.secret_ciphertext
    subscription.previous_secret_expires_at = expires
    subscription.secret_ciphertext = seal(key_file, secret)
    return secret, expires


def signing_secrets(subscription: Subscription, key_file: Path, now: datetime) -> list[str]:
    """The secrets a delivery at `now` is signed with: the current one, and the previous one in its grace."""
    secrets = [unseal(key_file, subscription.secret_ciphertext)]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret_ciphertext is not None and expires is not None and now < expires:
        secrets.append(unseal(key_file, subscription.previous_secret_ciphertext))
    return secrets
