"""The token signing key: created once, loaded once per process, published as a JWKS.

The private key is a PEM file (settings: SAMHANDLING_SIGNING_KEY_FILE) written with mode 0600.
`samhandling keys rotate` moves it to `<name>.previous.pem` and creates a new one; while the
previous file exists its public half stays in the JWKS and tokens it signed still verify, so
rotation needs no downtime (rotate again after the longest token lifetime to drop it).

A key dropped that way is *retired*, not forgotten: its public JWK is appended to
`<name>.retired.jwks.json` (0644: public parts only), so the log's signed checkpoints made with it
still verify — a checkpoint signed by a key the service does not know is a failure. The file
lives beside the key, not in the database, on purpose: the checkpoints guard against someone
who can write the database, and a key list in the database would let them add their own key.
Retired keys verify checkpoints only; tokens verify with the current and the previous key.

Across processes and hosts that share the key files (issue 24): each process reloads the ring
when the files change (TokenService), so a token or cursor made by a process that has seen a
rotation verifies at every other. A freshly rotated key is *published* (in the JWKS) at once but
signs tokens only once its file is `SAMHANDLING_KEY_PUBLISH_DELAY_SECONDS` old: until then the
previous key keeps signing, so verifiers that cache the JWKS learn the new key before they meet
it, and every process switches at the same moment (the file's modification time).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jws
from jose.backends.base import Key

SUPPORTED_ALGORITHMS = ("RS256", "ES256")
RSA_KEY_BITS = 2048
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_fixed(value: int, length: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(length, "big")).rstrip(b"=").decode()


def previous_key_path(path: Path) -> Path:
    return path.with_name(path.stem + ".previous" + path.suffix)


def retired_keys_path(path: Path) -> Path:
    return path.with_name(path.stem + ".retired.jwks.json")


def generate_private_key_pem(algorithm: str) -> bytes:
    if algorithm == "ES256":
        private: Any = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    else:
        raise ValueError(f"unsupported signing algorithm {algorithm!r}")
    pem: bytes = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem


def write_secret_file(path: Path, content: bytes) -> None:
    """Create `path` with owner-only permissions (0600); never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def ensure_signing_key(path: Path, algorithm: str = "RS256") -> bool:
    """Create the key file (0600) if it is absent. True when a key was created."""
    if path.exists():
        return False
    write_secret_file(path, generate_private_key_pem(algorithm))
    return True


def rotate_signing_key(path: Path, algorithm: str | None = None) -> None:
    """Current key → previous (an older previous is retired: its public part kept); a fresh key.

    The fresh key is written whole beside the others, then renamed into place, so a process that
    reloads meanwhile reads either the old ring or the new one, never half a PEM."""
    current = SigningKey.load(path)
    staging = path.with_name(path.name + ".new")
    staging.unlink(missing_ok=True)  # left by a rotation that was interrupted
    write_secret_file(staging, generate_private_key_pem(algorithm or current.algorithm))
    previous = previous_key_path(path)
    if previous.exists():
        retire_public_key(path, SigningKey.load(previous).public_jwk)  # before its file goes
        previous.unlink()
    path.rename(previous)
    os.replace(staging, path)


def key_files_fingerprint(path: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """What changes when a rotation touches the key files: each file's inode, size and mtime."""
    marks: list[tuple[int, int, int] | None] = []
    for file in (path, previous_key_path(path), retired_keys_path(path)):
        try:
            status = file.stat()
        except FileNotFoundError:
            marks.append(None)
        else:
            marks.append((status.st_ino, status.st_size, status.st_mtime_ns))
    return tuple(marks)


def load_retired_keys(path: Path) -> list[dict[str, str]]:
    retired = retired_keys_path(path)
    if not retired.exists():
        return []
    keys: list[dict[str, str]] = json.loads(retired.read_text(encoding="utf-8")).get("keys", [])
    return keys


def retire_public_key(path: Path, public_jwk: dict[str, str]) -> None:
    """Append a key's public JWK to the retired list (written whole, then renamed into place)."""
    keys = load_retired_keys(path)
    if any(key.get("kid") == public_jwk["kid"] for key in keys):
        return
    keys.append({name: public_jwk[name] for name in public_jwk if name not in PRIVATE_MEMBERS})
    target = retired_keys_path(path)
    staging = target.with_name(target.name + ".tmp")
    staging.write_text(json.dumps({"keys": keys}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    staging.chmod(0o644)
    os.replace(staging, target)


class SigningKey:
    """One key pair, parsed once; the python-jose key objects are built from it once."""

    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        # Parsing (and validating) an RSA private key takes tens of milliseconds: do it once.
        self._private: Any = serialization.load_pem_private_key(pem, password=None)
        if isinstance(self._private, rsa.RSAPrivateKey):
            self.algorithm = "RS256"
        elif isinstance(self._private, ec.EllipticCurvePrivateKey) and isinstance(self._private.curve, ec.SECP256R1):
            self.algorithm = "ES256"
        else:
            raise ValueError("only RSA and P-256 EC keys are supported")

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        return cls(path.read_bytes())

    @cached_property
    def public_jwk(self) -> dict[str, str]:
        numbers = self._private.public_key().public_numbers()
        if self.algorithm == "RS256":
            members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
        else:
            members = {
                "crv": "P-256",
                "kty": "EC",
                "x": _b64url_fixed(numbers.x, 32),
                "y": _b64url_fixed(numbers.y, 32),
            }
        return {**members, "kid": self.kid_for(members), "alg": self.algorithm, "use": "sig"}

    @staticmethod
    def kid_for(required_members: dict[str, str]) -> str:
        """RFC 7638 thumbprint: SHA-256 over the required members, sorted, no whitespace."""
        canonical = json.dumps(required_members, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    @cached_property
    def signer(self) -> Key:
        return jwk.construct(self._private, self.algorithm)

    @cached_property
    def verifier(self) -> Key:
        return jwk.construct(self._private.public_key(), self.algorithm)

    def sign_compact(self, payload: bytes, header: dict[str, Any]) -> str:
        """A compact JWS over raw bytes (used for signed log checkpoints)."""
        signed: str = jws.sign(payload, self.signer, headers={**header, "kid": self.kid}, algorithm=self.algorithm)
        return signed  # python-jose is untyped


@dataclass(frozen=True)
class VerifyingKey:
    """The public half of a key that is no longer one of the two signing keys."""

    kid: str
    algorithm: str
    verifier: Key


@dataclass(frozen=True)
class KeyRing:
    """The current signing key, during a rotation the previous one, and the retired ones."""

    current: SigningKey
    previous: SigningKey | None = None
    retired: tuple[VerifyingKey, ...] = field(default_factory=tuple)
    current_since: float = 0.0  # when the current key's file was written (its mtime, epoch seconds)

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        if not path.exists():
            raise FileNotFoundError(f"signing key {path} is missing: run `samhandling migrate` to create it")
        current = SigningKey.load(path)
        previous_path = previous_key_path(path)
        previous = SigningKey.load(previous_path) if previous_path.exists() else None
        retired = [_verifying_key(jwk_members) for jwk_members in load_retired_keys(path)]
        if previous is not None and previous.algorithm != current.algorithm:
            # Only the configured algorithm is ever accepted for tokens; checkpoints it signed
            # still verify with it.
            retired.append(VerifyingKey(previous.kid, previous.algorithm, previous.verifier))
            previous = None
        return cls(current=current, previous=previous, retired=tuple(retired), current_since=path.stat().st_mtime)

    @property
    def algorithm(self) -> str:
        return self.current.algorithm

    def signing_key(self, now: float, publish_delay: float) -> SigningKey:
        """The key that signs tokens now: the current one once it has been published (in the JWKS)
        for `publish_delay` seconds, the previous one until then."""
        if self.previous is not None and now < self.current_since + publish_delay:
            return self.previous
        return self.current

    def cursor_keys(self) -> list[bytes]:
        """The keys list cursors are signed with (the first) and accepted under: a cursor saved
        before a rotation still resumes its list after it."""
        return [key.pem for key in (self.current, self.previous) if key is not None]

    def token_verifier_for(self, kid: str) -> Key | None:
        """Tokens verify with the current key and, during a rotation, the previous one only."""
        for key in (self.current, self.previous):
            if key is not None and key.kid == kid:
                return key.verifier
        return None

    def verifier_for(self, kid: str) -> tuple[Key, str] | None:
        """Any key the service has signed with — retired ones too — and its algorithm (for
        signed checkpoints); None for a key it never had."""
        for key in (self.current, self.previous):
            if key is not None and key.kid == kid:
                return key.verifier, key.algorithm
        for retired in self.retired:
            if retired.kid == kid:
                return retired.verifier, retired.algorithm
        return None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        keys = [self.current.public_jwk]
        if self.previous is not None:
            keys.append(self.previous.public_jwk)
        return {"keys": keys}


def _verifying_key(members: dict[str, str]) -> VerifyingKey:
    algorithm = members["alg"]
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"a retired key has an unsupported algorithm {algorithm!r}")
    return VerifyingKey(members["kid"], algorithm, jwk.construct(members, algorithm))
