"""create_app(): settings, database, pipeline, routers and error handlers — nothing else."""

from __future__ import annotations

import gc
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from app.audit.aggregation import DenialAggregator
from app.audit.group_commit import GroupCommitter
from app.audit.sequencer import Sequencer
from app.audit.write_health import LogWriteHealth
from app.db import Database, create_api_engine
from app.fhir import router as fhir
from app.fhir.outcome import OperationOutcomes
from app.http.conventions import HttpConventions
from app.http.cors import cors_options
from app.http.docs import install_docs
from app.http.error_handlers import install_error_handlers
from app.http.forwarded import ForwardedHeaders
from app.http.guard import Authenticator
from app.http.openapi import install_openapi
from app.http.openapi_info import API_DESCRIPTION, API_TITLE, API_VERSION, OPENAPI_TAGS
from app.http.paging import CursorCodec
from app.http.pipeline import Lifecycle, RequestPipeline
from app.http.ratelimit_headers import RateLimitHeaders
from app.observability import RequestObserver, configure_logging
from app.ops.migrations import head_revision
from app.routers import (
    access_log,
    agencies,
    assessments,
    children,
    chronology,
    clients,
    concerns,
    consents,
    events,
    health,
    log_review,
    metrics,
    oauth,
    plans,
    signals,
    statistics,
    teams,
)
from app.security.anonymous import AnonymousLimiter
from app.security.login_throttle import LoginThrottle
from app.security.rate_limit_store import create_rate_limiter
from app.security.tokens import TokenService
from app.services.statistics import StatisticsCache
from app.settings import Settings, get_settings

GC_YOUNG_THRESHOLD = 20_000
# Smaller answers gain little and cost a compression each; a page of 200 concerns is ~100 KB.
GZIP_MINIMUM_BYTES = 1024


def tune_garbage_collector() -> None:
    """Fewer, larger young-generation collections, and none over what start-up built.

    A request allocates thousands of short-lived objects; with CPython's default threshold the
    collector runs every few requests and shows up in tail latency. Objects that live as long as
    the process (modules, routes, compiled SQL) are frozen out of the collector's view.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def drain_on_shutdown_signals(lifecycle: Lifecycle) -> None:
    """On SIGTERM/SIGINT, answer new requests 503 at once, then let the server's own handler
    (uvicorn's) stop accepting connections and wait for the requests in flight."""
    if threading.current_thread() is not threading.main_thread():
        return  # embedded (e.g. a test client): no process signals to take over
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handler(number: int, frame: FrameType | None, previous: Callable[..., Any] = previous) -> None:
            lifecycle.draining = True
            previous(number, frame)

        signal.signal(signum, handler)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    database = Database(create_api_engine(settings))
    sequencer = Sequencer(database.engine)
    log_write_health = LogWriteHealth(settings.readiness_write_failure_seconds)
    committer = GroupCommitter(database.engine, on_commit=sequencer.nudge, health=log_write_health)
    aggregator = DenialAggregator(committer, settings.anonymous_denial_window_seconds)
    tokens = TokenService(
        settings.signing_key_file,
        issuer=settings.issuer,
        audience=settings.audience,
        ttl_seconds=settings.token_ttl,
        reload_interval=settings.key_reload_interval_seconds,
        publish_delay=settings.key_publish_delay_seconds,
    )

    lifecycle = Lifecycle()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tune_garbage_collector()
        drain_on_shutdown_signals(lifecycle)
        yield
        await aggregator.close()  # its counts go through the committer: first
        await committer.close()
        await sequencer.close()
        await database.dispose()

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,  # served with local assets: app/http/docs.py
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.committer = committer
    app.state.log_write_health = log_write_health
    app.state.sequencer = sequencer
    app.state.lifecycle = lifecycle
    app.state.head_revision = head_revision()
    app.state.tokens = tokens
    app.state.authenticator = Authenticator(tokens, create_rate_limiter(settings, database.engine))
    app.state.login_throttle = LoginThrottle(
        database.engine,
        per_client_and_address=settings.auth_failures_per_minute,
        per_client=settings.auth_failures_per_client_per_minute,
        per_address=settings.auth_failures_per_address_per_minute,
    )
    app.state.cursors = CursorCodec(lambda: tokens.keys.cursor_keys(), lambda: tokens.refresh().cursor_keys())
    app.state.statistics = StatisticsCache(settings.statistics_threshold, settings.statistics_timezone)

    install_error_handlers(app)
    for module in (
        health,
        oauth,
        agencies,
        clients,
        children,
        chronology,
        concerns,
        consents,
        assessments,
        teams,
        plans,
        statistics,
        signals,
        events,
        access_log,
        fhir,
        log_review,
    ):
        app.include_router(module.router)
    if settings.metrics_enabled and settings.metrics_port is None:
        app.include_router(metrics.router)
    install_openapi(app)
    install_docs(app)
    # Inside the pipeline, so the access log records what was answered (a 304, a CORS preflight).
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(HttpConventions)
    if settings.cors_origin_list:
        app.add_middleware(CORSMiddleware, **cors_options(settings.cors_origin_list))
    app.add_middleware(
        RequestPipeline,
        database=database,
        committer=committer,
        sequencer=sequencer,
        max_body_bytes=settings.max_body_bytes,
        observer=RequestObserver(),
        deadline_seconds=settings.request_deadline_seconds,
        lifecycle=lifecycle,
        anonymous=AnonymousLimiter(tokens, settings.anonymous_requests_per_minute),
        aggregator=aggregator,
        routes=app.routes,
        body_timeout_seconds=settings.http_body_timeout_seconds,
    )
    # Outside the pipeline, inside compression: under /fhir the pipeline's own refusals come as
    # OperationOutcome too, and it reads bodies before they are compressed.
    app.add_middleware(OperationOutcomes)
    # Outside it: the held response is compressed as a whole; the proxy's headers are read first.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    if settings.forwarded_allow_ips.strip():
        app.add_middleware(ForwardedHeaders, trusted=settings.forwarded_allow_ips)
    return app
