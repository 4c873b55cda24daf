"""The request pipeline: the one place where a request is identified, committed and logged.

Every HTTP request passes through `RequestPipeline` (a pure ASGI middleware):

1. it gets a request id and a `RequestContext`, and its body is read under the size cap;
2. the app runs and its response is held back, not sent;
3. for requests to `/api/v1` and `/oauth/token` (and every path that only becomes one once
   decoded: app/http/routing.py), the access-log entries are built from what the route reported and
   committed — in the request's own write transaction when it succeeded (the write and its
   entries commit together or not at all), otherwise through the group committer. In that same
   transaction the caller's client is checked: a revoked client's request commits nothing and
   is answered 401 (app/security/client_status.py);
4. only then is the response sent. If the entries cannot be committed, the held-back response
   is dropped and the caller gets 503 instead: no data leaves without its log entry.

Requests without a valid token are limited per source address before the app runs
(app/security/anonymous.py), and repeated identical denials of such requests are counted into
one entry instead of one each (app/audit/aggregation.py) — the only responses that may leave
before their entry is committed, and never one with a verified caller. Every API response says
`Cache-Control: no-store` and every response `X-Content-Type-Options: nosniff`.

Routes cannot forget to log, and they cannot commit: both happen here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.audit import journal
from app.audit.aggregation import DenialAggregator
from app.audit.entries import as_revoked, build_entries
from app.audit.group_commit import GroupCommitter
from app.audit.sequencer import Sequencer
from app.db import Database, is_database_unavailable
from app.errors import (
    InvalidToken,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    TooManyRequests,
)
from app.http.context import SCOPE_KEY, RequestContext, choose_request_id
from app.http.problems import problem_response, render_app_error
from app.http.routing import is_audited, route_of
from app.models.base import utcnow
from app.observability import LOG_APPEND_SECONDS, RequestObserver, describe_error, safe_traceback
from app.security.anonymous import AnonymousLimiter, source_address
from app.security.client_status import rejected_clients

logger = logging.getLogger("samhandling.pipeline")

REVOKED = "The access token's client is revoked or unknown."
FAILED_LOG_ATTEMPT_SECONDS = 0.5
# Denials of requests without a verified caller: the ones a flood consists of (aggregation.py).
ANONYMOUS_DENIALS = frozenset({401, 429})
# API answers are about one caller and must not be kept by caches, nor sniffed into HTML.
_NO_STORE = (b"cache-control", b"no-store")
_NOSNIFF = (b"x-content-type-options", b"nosniff")


def _with_security_headers(headers: list[tuple[bytes, bytes]], audited: bool) -> list[tuple[bytes, bytes]]:
    if audited:
        headers = [header for header in headers if header[0] not in (b"cache-control", b"x-content-type-options")]
        return [*headers, _NO_STORE, _NOSNIFF]
    if not any(name == _NOSNIFF[0] for name, _ in headers):
        headers = [*headers, _NOSNIFF]
    return headers


@dataclass(slots=True)
class _HeldResponse:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    started: bool = False


class _BodyTooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    if declared is not None and declared > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the app will see an empty body and finish quickly
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying_receive(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for http.disconnect, as the server would

    return replay


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    for name, value in headers:
        if name == wanted:
            return value.decode("latin-1")
    return None


class RequestPipeline:
    def __init__(
        self,
        app: ASGIApp,
        *,
        database: Database,
        committer: GroupCommitter,
        sequencer: Sequencer,
        max_body_bytes: int,
        observer: RequestObserver,
        deadline_seconds: float,
        lifecycle: Lifecycle,
        anonymous: AnonymousLimiter,
        aggregator: DenialAggregator,
        routes: Iterable[Any],
        body_timeout_seconds: float,
    ) -> None:
        self.app = app
        self.database = database
        self.committer = committer
        self.sequencer = sequencer
        self.max_body_bytes = max_body_bytes
        self.observer = observer
        self.deadline_seconds = deadline_seconds
        self.lifecycle = lifecycle
        self.anonymous = anonymous
        self.aggregator = aggregator
        self.routes = routes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        if self.lifecycle.draining:  # shutting down: finish what is in flight, take nothing new
            await _send_draining(send)
            return
        context = RequestContext(
            request_id=choose_request_id(_header(scope, b"x-request-id")),
            method=scope["method"],
            database=self.database,
        )
        scope[SCOPE_KEY] = context
        audited = is_audited(scope["path"])
        held = self._refuse_anonymous_flood(scope, context) if audited else None
        if held is None:
            held = await self._run_app(scope, receive, context)
        if audited:
            held = await self._commit_with_log(scope, context, held, started)
        else:
            await _close_sessions(context)
        held.headers = _with_security_headers(held.headers, audited)
        held.headers.append((b"x-request-id", context.request_id.encode()))
        await send({"type": "http.response.start", "status": held.status, "headers": held.headers})
        await send({"type": "http.response.body", "body": b"".join(held.body)})
        client_id = context.caller.client_id if context.caller else None
        self.observer.request_finished(scope, context.request_id, client_id, held.status, time.perf_counter() - started)

    def _refuse_anonymous_flood(self, scope: Scope, context: RequestContext) -> _HeldResponse | None:
        """429 before anything runs when an address sends too many requests without a valid token."""
        wait = self.anonymous.wait_seconds(scope)
        if not wait:
            return None
        refused = TooManyRequests(
            wait, f"Too many requests without a valid access token from this address; retry after {wait} s."
        )
        return _hold(render_app_error(refused, context.request_id))

    async def _run_app(self, scope: Scope, receive: Receive, context: RequestContext) -> _HeldResponse:
        held = _HeldResponse()
        try:
            # The whole body within the read timeout: a client trickling it cannot hold a request.
            async with asyncio.timeout(self.body_timeout_seconds):  # a timer, no extra task
                body = await _read_body(receive, self.max_body_bytes, _declared_length(scope))
        except _BodyTooLarge:
            error = PayloadTooLarge(f"The request body exceeds {self.max_body_bytes} bytes.")
            return _hold(render_app_error(error, context.request_id))
        except TimeoutError:
            timeout = RequestTimeout(f"The request body did not arrive within {self.body_timeout_seconds:g} s.")
            return _hold(render_app_error(timeout, context.request_id))

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.status = message["status"]
                held.headers = list(message.get("headers", []))
                held.started = True
            elif message["type"] == "http.response.body":
                held.body.append(message.get("body", b""))

        try:
            await self.app(scope, _replaying_receive(body, receive), hold)
        except Exception as error:  # the catch-all: log the traceback, return none of it
            return self._hold_unexpected(error, context)
        return held

    def _hold_unexpected(self, error: Exception, context: RequestContext) -> _HeldResponse:
        if is_database_unavailable(error):
            context.database_failed = True
            logger.warning("request %s: database unavailable: %s", context.request_id, describe_error(error))
            return _hold(render_app_error(ServiceUnavailable(), context.request_id))
        # The stack, never the exception's message: it may quote the request or the row.
        logger.error("request %s failed: %s", context.request_id, safe_traceback(error))
        return _hold(
            problem_response(
                500,
                "internal-error",
                "Internal error",
                f"The request failed on the server; quote request id {context.request_id}.",
                request_id=context.request_id,
            )
        )

    async def _commit_with_log(
        self, scope: Scope, context: RequestContext, held: _HeldResponse, started: float
    ) -> _HeldResponse:
        template, action = route_of(scope, held.status, self.routes)
        entries = build_entries(context, status_code=held.status, route=template, action=action, at=utcnow())
        if context.caller is None and held.status in ANONYMOUS_DENIALS:
            if not self.aggregator.offer(source_address(scope), entries):
                await _close_sessions(context)
                return held  # counted into its window's entry; no verified caller was answered
        session = context.write_session
        caller = None if context.client_verified else context.caller
        health = self.committer.health  # the group committer notes its own commits
        try:
            if session is not None and held.status < 400:
                claim = context.extra.get("idempotency_claim")
                if claim is not None:
                    headers = {name.decode(): value.decode() for name, value in held.headers}
                    await claim.store(session, context, held.status, headers, b"".join(held.body))
                await session.flush()  # the request's own writes: an error here is the request's
        except Exception as error:
            await _close_sessions(context)
            return self._hold_unexpected(error, context)
        try:
            if session is not None and held.status < 400:
                connection = await session.connection()
                if caller is not None and await rejected_clients(connection, [caller]):
                    await _close_sessions(context)  # the client was revoked: nothing commits
                    await self.committer.append(as_revoked(entries))
                    return _hold(render_app_error(InvalidToken(REVOKED), context.request_id))
                committing = time.perf_counter()
                try:
                    await journal.append(connection, entries)
                    await session.commit()
                except Exception:
                    health.failed()
                    raise
                health.succeeded()
                LOG_APPEND_SECONDS.labels("write").observe(time.perf_counter() - committing)
                await _close_sessions(context)
                self.sequencer.nudge()
            else:
                await _close_sessions(context)
                appended = self.committer.append(entries, caller)
                # A request answers within its deadline (the database timeouts), also when the log
                # cannot be written: then with 503, and its entry may still commit later — the log
                # may over-report an access that was refused, never the other way round.
                remaining = self.deadline_seconds - (time.perf_counter() - started)
                budget = FAILED_LOG_ATTEMPT_SECONDS if context.database_failed else max(remaining, 0.5)
                if not await asyncio.wait_for(appended, timeout=budget):
                    return _hold(render_app_error(InvalidToken(REVOKED), context.request_id))
        except Exception as error:  # whatever stops the entry from committing stops the request
            await _close_sessions(context)
            logger.error("request %s: access-log entry not committed: %s", context.request_id, describe_error(error))
            unavailable = ServiceUnavailable("The access log could not be written, so nothing was done or returned.")
            return _hold(render_app_error(unavailable, context.request_id))
        return held


@dataclass(slots=True)
class Lifecycle:
    """Whether the process is shutting down (SIGTERM): new requests then get 503."""

    draining: bool = False


async def _send_draining(send: Send) -> None:
    response = render_app_error(ServiceUnavailable("The service is restarting; retry shortly."), None)
    headers = [*response.raw_headers, (b"connection", b"close"), _NO_STORE, _NOSNIFF]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _hold(response: Any) -> _HeldResponse:
    return _HeldResponse(
        status=response.status_code,
        headers=list(response.raw_headers),
        body=[response.body],
        started=True,
    )


async def _close_sessions(context: RequestContext) -> None:
    """Give the request's connections back — or, after the database failed, throw them away:
    a rollback on a connection that no longer answers would only wait for its timeout."""
    for resource in (context.write_session, context.read_session, context.read_connection):
        if resource is not None:
            try:
                if context.database_failed:
                    await asyncio.wait_for(resource.invalidate(), timeout=FAILED_LOG_ATTEMPT_SECONDS)
                else:
                    await resource.close()
            except Exception as error:  # a broken connection must not turn into a 500
                logger.warning(
                    "request %s: releasing a connection failed: %s", context.request_id, describe_error(error)
                )
    context.write_session = None
    context.read_session = None
    context.read_connection = None
