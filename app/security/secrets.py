"""Client secrets: generated once, shown once, stored only as an argon2id hash.

Verification costs the same whether or not the client exists (a fixed dummy hash stands in for
an unknown client), so timing does not reveal which client ids are registered.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.security.identifiers import looks_like_identity_number

# OWASP's minimum argon2id parameters (19 MiB, 2 iterations): slow enough to make a stolen
# table expensive to attack, fast enough that token issuance stays a few milliseconds.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
SECRET_BYTES = 32
CLIENT_ID_BYTES = 12
# The shape of every client id this service issues; anything else a caller claims is not one.
_CLIENT_ID = re.compile(r"^cl_[A-Za-z0-9_-]{16}$")
# What the log and the login throttle record instead of a claimed client id of another shape:
# the claim is caller-supplied text and may hold a personal identity number.
INVALID_CLIENT_ID = "invalid"


def new_client_secret() -> str:
    """43 URL-safe characters (letters, digits, - and _): no form-encoding surprises."""
    return secrets.token_urlsafe(SECRET_BYTES)


def is_client_id(text: str) -> bool:
    """Whether `text` has the shape of a client id this service issues."""
    return _CLIENT_ID.match(text) is not None and not looks_like_identity_number(text)


def new_client_id() -> str:
    while True:  # never one that the log would have to hide (ten digits in a row: ~1 in 10^7)
        candidate = "cl_" + secrets.token_urlsafe(CLIENT_ID_BYTES)
        if is_client_id(candidate):
            return candidate


def loggable_client_id(claimed: str) -> str:
    """A claimed client id as the log may record it: itself when it has our shape, else a marker."""
    return claimed if is_client_id(claimed) else INVALID_CLIENT_ID


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(SECRET_BYTES))


def verify_secret(secret_hash: str | None, presented: str) -> bool:
    """Constant-time check; pass None for an unknown client to spend the same time."""
    try:
        return _HASHER.verify(secret_hash or _dummy_hash(), presented) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False
