"""The one authorization path: every protected route is authenticated and scope-checked here.

`GuardedRoute` runs before FastAPI parses or validates anything of the request, so 401 and
403 always come before 422. A route is protected by naming a caller parameter with its scopes,
`Annotated[Caller, Security(current_caller, scopes=[...])]`; that same declaration puts the
OAuth2 requirement and its scopes into OpenAPI. A router that uses `GuardedRoute` refuses, at
start-up, any route that declares no caller: an unprotected route cannot be added by forgetting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.routing import APIRoute
from fastapi.security import OAuth2, SecurityScopes

from app.audit.purpose import CHILD_RECORD_READ_SCOPES, PurposeInvalid, parse_purpose
from app.audit.purpose import HEADER as PURPOSE_HEADER
from app.errors import InsufficientScope, InvalidToken, TooManyRequests, unprocessable
from app.http.context import RequestContext, get_context
from app.security.caller import Caller
from app.security.rate_limit import QUOTA_KEY, Limiter
from app.security.scopes import SCOPE_DESCRIPTIONS
from app.security.tokens import TokenRejected, TokenService

oauth2_scheme = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes=SCOPE_DESCRIPTIONS)),
    scheme_name="oauth2",
    description="OAuth 2.0 client credentials; the token is a JWT (RFC 9068) sent as a Bearer token.",
    auto_error=False,
)


async def current_caller(
    security_scopes: SecurityScopes, request: Request, _token: str | None = Depends(oauth2_scheme)
) -> Caller:
    """The caller GuardedRoute authenticated; the Security(...) scopes here feed OpenAPI.

    The scopes are not checked again: GuardedRoute checked the union of every scope the route's
    dependencies declare, these among them, before the route ran."""
    caller = get_context(request).caller
    if caller is None:
        raise InvalidToken()  # unreachable behind GuardedRoute; a guard against misuse
    return caller


def required_scopes(dependant: Dependant) -> frozenset[str] | None:
    """The scopes a route's caller dependency demands, or None when it has none."""
    found: set[str] | None = None
    for sub in dependant.dependencies:
        if sub.call is current_caller:
            found = (found or set()) | set(sub.own_oauth_scopes or ()) | set(sub.parent_oauth_scopes or ())
        nested = required_scopes(sub)
        if nested is not None:
            found = (found or set()) | nested
    return None if found is None else frozenset(found)


class Authenticator:
    """Token → caller. The client's status is checked where the request's log entries commit
    (app/security/client_status.py), so a revoked client is refused even mid-request."""

    def __init__(self, tokens: TokenService, limiter: Limiter) -> None:
        self.tokens = tokens
        self.limiter = limiter

    def authenticate(self, request: Request) -> Caller:
        try:
            return self.tokens.verify(_bearer_token(request))
        except TokenRejected as rejection:
            raise InvalidToken(f"The access token is not valid: {rejection}.") from rejection

    async def check_rate(self, caller: Caller, context: RequestContext) -> None:
        """Charge the request to its client (429 when the allowance is spent); the quota is left in
        the context for the RateLimit-* headers, the 429's included (app/http/ratelimit_headers.py)."""
        charge = await self.limiter.charge(caller.client_id)
        context.extra[QUOTA_KEY] = charge.quota
        if charge.retry_after:
            wait = charge.retry_after
            raise TooManyRequests(wait, f"Rate limit exceeded for this client; retry after {wait} s.")


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("A Bearer access token is required (Authorization: Bearer …).")
    return token.strip()


def _purpose_of_use(request: Request, needed: frozenset[str]) -> str | None:
    """The Purpose-Of-Use code (app/audit/purpose.py); required, when the setting says so, on
    reads of child records."""
    settings = request.app.state.settings
    required = (
        settings.require_purpose_of_use
        and request.method in ("GET", "HEAD")
        and not needed.isdisjoint(CHILD_RECORD_READ_SCOPES)
    )
    try:
        return parse_purpose(request.headers.get("purpose-of-use"), required=required)
    except PurposeInvalid as error:
        raise unprocessable(["header", PURPOSE_HEADER], str(error)) from None


_LONG_DIGIT_RUN = re.compile(rb"[0-9]{20}")  # 2**64 has 20 digits
MAX_JSON_DEPTH = 32  # no request body of this API nests deeper than a few levels


async def _require_well_formed_json(request: Request) -> None:
    """A JSON body that is not UTF-8, not JSON or nested absurdly deep is 422, like any bad input."""
    if "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()
    if not body:
        return
    try:
        document = orjson.loads(body)  # rejects invalid UTF-8 and nesting beyond 1024 levels, in C
    except orjson.JSONDecodeError as error:
        raise unprocessable(["body"], f"Malformed JSON: {error}") from None
    # Deeper than MAX_JSON_DEPTH is refused before the body is validated (which recurses in Python
    # per level); the walk is skipped when there are not even that many brackets in all.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _depth_exceeds(document, MAX_JSON_DEPTH):
        raise unprocessable(["body"], f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    # Parsed once: Starlette's Request.json() returns what it finds here, so FastAPI validates this
    # document instead of decoding the body a second time. orjson and json agree on every document
    # orjson accepts (NaN and infinities it refuses, above) except integers beyond 64 bits, which
    # orjson reads as floats: a body with a run of 20 digits is left for json to decode again.
    if _LONG_DIGIT_RUN.search(body) is None:
        request._json = document


def _depth_exceeds(document: object, limit: int) -> bool:
    level: list[object] = [document]
    for _ in range(limit):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not any(isinstance(node, dict | list) for node in level):
            return False
    return any(isinstance(node, dict | list) for node in level)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class GuardedRoute(APIRoute):
    """A route whose caller is authenticated, scope-checked and rate-limited before anything else."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        needed = required_scopes(self.dependant)
        if needed is None:
            raise RuntimeError(f"route {self.path} declares no caller: add a Caller parameter with its scopes")

        async def guarded(request: Request) -> Response:
            context = get_context(request)
            authenticator: Authenticator = request.app.state.authenticator
            caller = authenticator.authenticate(request)
            context.caller = caller
            # The rate first: a client probing for scopes it lacks spends its allowance too.
            await authenticator.check_rate(caller, context)
            if not caller.has_scopes(needed):
                raise InsufficientScope(needed)
            context.purpose_of_use = _purpose_of_use(request, needed)
            await _require_well_formed_json(request)
            return await handler(request)

        return guarded
