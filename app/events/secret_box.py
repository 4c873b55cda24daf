"""Webhook secrets at rest: AES-GCM under a key file the database never holds.

A webhook secret must stay usable (every delivery is signed with it), so it cannot be a hash
like a client secret. It is encrypted with a 256-bit key kept next to the signing key
(SAMHANDLING_SECRETS_KEY_FILE, created 0600 by `samhandling migrate`): a copy of the database
alone does not reveal it.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.security.keys import write_secret_file

_NONCE_BYTES = 12


def ensure_secrets_key(path: Path) -> bool:
    if path.exists():
        return False
    write_secret_file(path, AESGCM.generate_key(bit_length=256))
    return True


@lru_cache(maxsize=4)
def _cipher(path: Path) -> AESGCM:
    if not path.exists():
        raise FileNotFoundError(f"secrets key {path} is missing: run `samhandling migrate` to create it")
    return AESGCM(path.read_bytes())


def seal(path: Path, secret: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    return base64.b64encode(nonce + _cipher(path).encrypt(nonce, secret.encode(), None)).decode()


def unseal(path: Path, sealed: str) -> str:
    raw = base64.b64decode(sealed)
    return _cipher(path).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
