"""Token endpoint and discovery documents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TokenResponse(BaseModel):
    access_token: str = Field(description="A JWT (RFC 9068, typ at+jwt).")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the token expires.")
    scope: str = Field(description="The granted scopes, space-separated.")


class JsonWebKey(BaseModel):
    kty: str
    kid: str
    alg: str
    use: str
    n: str | None = None
    e: str | None = None
    crv: str | None = None
    x: str | None = None
    y: str | None = None


class JsonWebKeySet(BaseModel):
    keys: list[JsonWebKey]


class AuthorizationServerMetadata(BaseModel):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str] | None = None
    scopes_supported: list[str]
    response_types_supported: list[str]
    service_documentation: str
