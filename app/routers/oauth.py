"""OAuth 2.0: the token endpoint (client credentials) and the metadata clients discover."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.errors import AppError
from app.http.context import get_context
from app.http.deps import DatabaseDep, KeysDep, LoginThrottleDep, TokensDep
from app.observability import TOKEN_FAILURES, TOKENS_ISSUED
from app.routers.responses import REQUEST_ID_HEADER, problems
from app.schemas.oauth import AuthorizationServerMetadata, JsonWebKeySet, TokenResponse
from app.security.caller import Caller
from app.security.scopes import ALL_SCOPES, format_scopes
from app.security.secrets import loggable_client_id
from app.services.clients import authenticate_client

router = APIRouter(tags=["oauth"])

MAX_PARAMETER_LENGTH = 512


class OAuthError(AppError):
    """An RFC 6749 §5.2 error: `error` and `error_description`, plus the problem fields."""

    media_type = "application/json"

    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None):
        self.status = status
        self.slug = f"oauth-{error.replace('_', '-')}"
        self.title = error
        super().__init__(description, headers=headers)
        self.extra = {"error": error, "error_description": description}
        TOKEN_FAILURES.labels(error).inc()


def _invalid_client(description: str = "Client authentication failed.") -> OAuthError:
    return OAuthError(401, "invalid_client", description, {"WWW-Authenticate": 'Basic realm="samhandling"'})


def _form_parameters(content_type: str, body: bytes) -> dict[str, str]:
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise OAuthError(400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError(400, "invalid_request", "The form body cannot be parsed.") from None
    parameters: dict[str, str] = {}
    for name, value in pairs:
        if name in parameters:
            raise OAuthError(400, "invalid_request", f"The parameter {name!r} is repeated.")
        if len(value) > MAX_PARAMETER_LENGTH or "\x00" in value:
            raise OAuthError(400, "invalid_request", f"The parameter {name!r} is not acceptable.")
        parameters[name] = value
    return parameters


def _client_credentials(authorization: str | None, parameters: dict[str, str]) -> tuple[str, str]:
    """client_secret_basic or client_secret_post — exactly one of them (RFC 6749 §2.3)."""
    in_form = "client_id" in parameters or "client_secret" in parameters
    if authorization:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise _invalid_client("Only HTTP Basic client authentication is accepted in Authorization.")
        if in_form:
            raise OAuthError(400, "invalid_request", "Use one client authentication method, not two.")
        try:
            client_id, separator, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client("The Basic credentials are malformed.") from None
        if not separator:
            raise _invalid_client("The Basic credentials are malformed.")
        return unquote_plus(client_id), unquote_plus(secret)
    if not parameters.get("client_id") or "client_secret" not in parameters:
        raise _invalid_client("Client authentication is required (client_secret_basic or client_secret_post).")
    return parameters["client_id"], parameters["client_secret"]


def _granted_scopes(requested: str | None, allowed: frozenset[str]) -> frozenset[str]:
    if requested is None:
        return allowed
    wanted = frozenset(requested.split(" ")) - {""}
    if not wanted or not wanted <= allowed:
        raise OAuthError(400, "invalid_scope", "The requested scope is empty or exceeds the client's scopes.")
    return wanted


_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {
                            "type": "string",
                            "description": "Space-separated subset of the client's scopes.",
                        },
                        "client_id": {"type": "string", "description": "For client_secret_post."},
                        "client_secret": {"type": "string", "description": "For client_secret_post."},
                    },
                },
                "example": {"grant_type": "client_credentials", "scope": "concerns:read concerns:write"},
            }
        },
    },
    # No security requirement: the client authenticates *here*, by either method, and a
    # requirement (even `[{"clientBasic": []}, {}]`) makes generators demand an authenticated
    # client object, which then cannot use client_secret_post (issue 18).
    "security": [],
}
_OAUTH_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthErrorBody"}}}


@router.post(
    "/oauth/token",
    operation_id="oauth-token",
    summary="Get an access token (client credentials)",
    response_model=TokenResponse,
    openapi_extra=_TOKEN_FORM,
    responses={
        200: {"headers": {**REQUEST_ID_HEADER, "Cache-Control": {"schema": {"type": "string"}}}},
        400: {
            "description": "invalid_request, unsupported_grant_type or invalid_scope.",
            "content": _OAUTH_ERROR,
        },
        401: {
            "description": "invalid_client: unknown client, wrong secret or revoked.",
            "content": _OAUTH_ERROR,
        },
        **problems(413, 429, 503),
    },
)
async def issue_token(
    request: Request, throttle: LoginThrottleDep, database: DatabaseDep, tokens: TokensDep
) -> JSONResponse:
    """OAuth 2.0 client credentials (RFC 6749 §4.4). Authenticate the client with exactly one of
    HTTP Basic — `Authorization: Basic base64(client_id:client_secret)` (`client_secret_basic`) —
    or the form fields `client_id` and `client_secret` (`client_secret_post`). `scope` may narrow the
    client's scopes. After 10 failed authentications for one client_id from one source address
    within a minute, further attempts from there get 429 until the minute has passed; after 100
    for one client_id from all sources together, every attempt for it does (both are settings)."""
    context = get_context(request)
    parameters = _form_parameters(request.headers.get("content-type", ""), await request.body())
    grant_type = parameters.get("grant_type")
    if not grant_type:
        raise OAuthError(400, "invalid_request", "grant_type is required.")
    client_id, secret = _client_credentials(request.headers.get("authorization"), parameters)
    # Caller-supplied text: only a client id of our shape is logged and counted as itself.
    context.claimed_client_id = loggable_client_id(client_id)
    if grant_type != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "Only client_credentials is supported.")
    # Reserved before argon2 runs, so concurrent guesses count at once (login_throttle.py).
    reservation = await throttle.reserve(context.claimed_client_id, request.client.host if request.client else None)
    async with database.read_session() as session:
        authenticated = await authenticate_client(session, client_id, secret)
    if authenticated is None:
        raise _invalid_client()  # the reservation stays: it is this failure
    await throttle.release(reservation)
    client = authenticated.client
    scopes = _granted_scopes(parameters.get("scope"), authenticated.scopes)
    issued = tokens.issue(
        client_id=client.client_id, agency_id=client.agency_id, role=client.role, scopes=format_scopes(scopes)
    )
    context.caller = Caller(
        client_id=client.client_id,
        agency_id=client.agency_id,
        role=client.role,
        scopes=scopes,
        jti=issued.jti,
    )
    context.client_verified = True  # it authenticated with its secret just now
    context.audit("token", issued.jti)
    TOKENS_ISSUED.labels(client.role).inc()
    body = TokenResponse(
        access_token=issued.access_token,
        token_type="Bearer",
        expires_in=issued.expires_in,
        scope=issued.scope,
    )
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get(
    "/.well-known/jwks.json",
    operation_id="oauth-jwks",
    summary="The token signing keys (public parts only)",
    response_model=JsonWebKeySet,
    response_model_exclude_none=True,
)
async def jwks(keys: KeysDep) -> dict[str, Any]:
    """The public keys that verify access tokens — during a key rotation, the previous one too."""
    return keys.jwks()


@router.get(
    "/.well-known/oauth-authorization-server",
    operation_id="oauth-metadata",
    summary="Authorization server metadata (RFC 8414)",
    response_model=AuthorizationServerMetadata,
    response_model_exclude_none=True,
)
async def metadata(tokens: TokensDep) -> AuthorizationServerMetadata:
    """Where to get tokens and check them: RFC 8414 metadata for OAuth client libraries."""
    issuer = tokens.issuer.rstrip("/")
    return AuthorizationServerMetadata(
        issuer=tokens.issuer,
        token_endpoint=f"{issuer}/oauth/token",
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        token_endpoint_auth_signing_alg_values_supported=None,
        scopes_supported=sorted(ALL_SCOPES),
        response_types_supported=[],
        service_documentation=f"{issuer}/docs",
    )
