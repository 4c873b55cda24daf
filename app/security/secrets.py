"""Client secrets: generated once, shown once, stored only as an argon2id hash.

Verification costs the same whether or not the client exists (a fixed dummy hash stands in for
an unknown client), so timing does not reveal which client ids are registered.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum argon2id parameters (19 MiB, 2 iterations): slow enough to make a stolen
# table expensive to attack, fast enough that token issuance stays a few milliseconds.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
SECRET_BYTES = 32


def new_client_secret() -> str:
    """43 URL-safe characters (letters, digits, - and _): no form-encoding surprises."""
    return secrets.token_urlsafe(SECRET_BYTES)


def new_client_id() -> str:
    return "cl_" + secrets.token_urlsafe(12)


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
