"""Access tokens: RFC 9068 JWTs, signed with the service's asymmetric key, checked strictly."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jose import jwt
from jose.exceptions import JOSEError

from app.security.caller import Caller
from app.security.keys import KeyRing, key_files_fingerprint

logger = logging.getLogger(__name__)

TOKEN_TYPE = "at+jwt"
LEEWAY_SECONDS = 30
VERIFIED_CACHE_SIZE = 10_000
_REQUIRED_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "jti", "scope", "client_id", "agency_id", "role")


class TokenRejected(Exception):
    """The token is not acceptable; the message says why (safe to show the caller)."""


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    jti: str


UNKNOWN_KID_RECHECK_SECONDS = 1.0  # a token with a key this process has not seen: look again, at most this often


class TokenService:
    """Signs and verifies access tokens with the key ring, reloaded when its files change.

    Processes and hosts share the key files; one that has seen a rotation signs with the new key
    (after its publish delay). The others look at the files every `reload_interval` seconds, and
    at once (at most once a second) when a token names a key they do not know — so its token is
    not refused meanwhile."""

    def __init__(
        self,
        key_file: Path,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        reload_interval: float = 5.0,
        publish_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key_file = key_file
        self._keys: KeyRing | None = None
        self._fingerprint: tuple[object, ...] | None = None
        self._next_check = 0.0
        self._last_forced = -UNKNOWN_KID_RECHECK_SECONDS
        self.reload_interval = reload_interval
        self.publish_delay = publish_delay
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._verified: dict[str, tuple[Caller, float]] = {}

    @property
    def keys(self) -> KeyRing:
        if self._keys is None or time.monotonic() >= self._next_check:
            self._reload_if_changed()
        assert self._keys is not None
        return self._keys

    def refresh(self) -> KeyRing:
        """Look at the key files now (at most once a second): a token or cursor names a key this
        process may not have seen yet."""
        now = time.monotonic()
        if now - self._last_forced >= UNKNOWN_KID_RECHECK_SECONDS:
            self._last_forced = now
            self._reload_if_changed()
        return self.keys

    def _reload_if_changed(self) -> None:
        self._next_check = time.monotonic() + self.reload_interval
        fingerprint = key_files_fingerprint(self._key_file)
        if self._keys is not None and fingerprint == self._fingerprint:
            return
        try:
            ring = KeyRing.load(self._key_file)
        except (OSError, ValueError) as error:
            if self._keys is None:
                raise
            # Caught between a rotation's two renames, or a file being copied in: keep the ring
            # this process has and look again at the next check.
            logger.warning("signing keys not reloaded (kept the loaded ones): %s", error)
            return
        if self._keys is not None and ring.current.kid != self._keys.current.kid:
            logger.info("signing keys reloaded: current %s, previous %s", ring.current.kid, _kid(ring))
        self._keys, self._fingerprint = ring, fingerprint

    def issue(self, *, client_id: str, agency_id: str, role: str, scopes: str) -> IssuedToken:
        now = int(self._clock())
        jti = uuid.uuid4().hex
        claims = {
            "iss": self.issuer,
            "sub": client_id,
            "client_id": client_id,
            "aud": self.audience,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": jti,
            "scope": scopes,
            "agency_id": agency_id,
            "role": role,
        }
        current = self.keys.signing_key(self._clock(), self.publish_delay)
        token = jwt.encode(
            claims,
            current.signer,
            algorithm=current.algorithm,
            headers={"typ": TOKEN_TYPE, "kid": current.kid},
        )
        return IssuedToken(access_token=token, expires_in=self.ttl_seconds, scope=scopes, jti=jti)

    def verify(self, token: str) -> Caller:
        """The caller a token speaks for, or TokenRejected. Never trusts the token's own `alg`.

        A token whose signature and claims were checked once is remembered until it expires:
        the result cannot change (revocation is checked elsewhere, on every request), and an
        RSA verification and two JSON parses per request are the largest cost of a read.
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            caller, expires = remembered
            if self._clock() <= expires + LEEWAY_SECONDS:
                return caller
            del self._verified[token]
            raise TokenRejected("the token has expired")
        caller, expires = self._verify_uncached(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the oldest
        self._verified[token] = (caller, expires)
        return caller

    def _verify_uncached(self, token: str) -> tuple[Caller, float]:
        try:
            header = jwt.get_unverified_header(token)
            keys = self.keys
            if header.get("alg") != keys.algorithm:
                raise TokenRejected("the token is not signed with the accepted algorithm")
            if str(header.get("typ", "")).lower() not in (TOKEN_TYPE, "application/" + TOKEN_TYPE):
                raise TokenRejected("the token is not an access token (typ must be at+jwt)")
            kid = str(header.get("kid", ""))
            verifier = keys.token_verifier_for(kid)
            if verifier is None:  # perhaps signed by a host that has seen a rotation this one has not
                keys = self.refresh()
                verifier = keys.token_verifier_for(kid)
            if verifier is None:
                raise TokenRejected("the token's signing key is unknown")
            claims = jwt.decode(
                token,
                verifier,
                algorithms=[keys.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "leeway": LEEWAY_SECONDS,
                    **{f"require_{claim}": True for claim in ("exp", "iat", "aud", "iss", "sub", "jti")},
                },
            )
        except TokenRejected:
            raise
        except JOSEError as error:  # JWTError, JWSError, JWKError (e.g. alg "none"), ExpiredSignatureError
            raise TokenRejected(_describe(error)) from error
        except (ValueError, TypeError, KeyError) as error:
            raise TokenRejected("the token is malformed") from error
        return _caller_from(claims), float(claims["exp"])


def _kid(ring: KeyRing) -> str | None:
    return ring.previous.kid if ring.previous is not None else None


def _describe(error: JOSEError) -> str:
    text = str(error).lower()
    if "expired" in text:
        return "the token has expired"
    if "audience" in text:
        return "the token is not meant for this service (aud)"
    if "issuer" in text:
        return "the token was not issued by this service (iss)"
    if "signature" in text:
        return "the token's signature does not verify"
    return "the token is malformed or not acceptable"


def _caller_from(claims: dict[str, Any]) -> Caller:
    if any(claim not in claims for claim in _REQUIRED_CLAIMS):
        raise TokenRejected("the token lacks required claims")
    values = [claims[claim] for claim in ("sub", "client_id", "agency_id", "role", "scope", "jti")]
    if not all(isinstance(value, str) and value for value in values):
        raise TokenRejected("the token's claims have the wrong types")
    if claims["sub"] != claims["client_id"]:
        raise TokenRejected("the token's sub and client_id differ")
    return Caller(
        client_id=claims["client_id"],
        agency_id=claims["agency_id"],
        role=claims["role"],
        scopes=frozenset(claims["scope"].split()),
        jti=claims["jti"],
    )
