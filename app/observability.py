"""Operational signals: structured JSON logs and Prometheus metrics.

Log lines carry ids, route templates, statuses and durations — never bodies, query strings,
tokens or personal identity numbers. Metrics are labelled by route template, not by path.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import Scope

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration by route template and status, log commit included.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TOKENS_ISSUED = Counter("samhandling_tokens_issued_total", "Access tokens issued.", ["role"])
TOKEN_FAILURES = Counter("samhandling_token_failures_total", "Failed token requests by OAuth error code.", ["error"])
ACCESS_DENIALS = Counter(
    "samhandling_access_denials_total",
    "Requests denied by the access rule (record hidden → 404) by record type.",
    ["record_type"],
)
LOG_APPEND_SECONDS = Histogram(
    "samhandling_access_log_append_seconds",
    "Time to chain and commit a batch of access-log entries.",
    ["path"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
LOG_APPEND_BATCH = Histogram(
    "samhandling_access_log_batch_entries",
    "Entries per group-committed batch.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
)
EVENTS_PENDING = Gauge(
    "samhandling_event_deliveries_pending",
    "Webhook deliveries waiting to be attempted.",
    multiprocess_mode="livemax",
)
DELIVERY_FAILURES = Counter("samhandling_event_delivery_failures_total", "Failed webhook delivery attempts.")
DB_POOL_IN_USE = Gauge(
    "samhandling_db_pool_connections_in_use",
    "Database connections checked out of this process's pool.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge("samhandling_db_pool_size", "Connections this process's pool holds.", multiprocess_mode="livesum")
LOG_CHAIN_HELD_SECONDS = Gauge(
    "samhandling_access_log_chain_held_seconds",
    "Age of the service's oldest open writing transaction, which the log's chain (and the event feed) "
    "waits for; 0 when none (PostgreSQL, updated by /readyz).",
    multiprocess_mode="livemax",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    formatter = JsonFormatter()
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Quiet even under SAMHANDLING_LOG_LEVEL=DEBUG: aiosqlite logs every statement with its
    # parameters at DEBUG, and SQLAlchemy's engine log shows statements at INFO — the request's
    # data (a personnummer, a guardian's name) would reach the log.
    for chatty in ("httpx", "httpx2", "aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # uvicorn's own access log would print raw paths (and so identifiers); ours prints templates.
    logging.getLogger("uvicorn.access").disabled = True


def describe_error(error: BaseException) -> str:
    """An exception as the server log may show it: its kind and codes, not its message.

    A database error's message holds what the database says about the row (PostgreSQL's
    `DETAIL: Key (…)=(…)`, `invalid input syntax for type uuid: "…"`), and any other exception's
    message may quote the request (a validation error, a body field's value). System errors
    (a refused connection, a timeout) carry no request data and keep their message.
    """
    if isinstance(error, OSError | TimeoutError) and not hasattr(error, "orig"):
        return f"{type(error).__name__}: {error}"
    parts = [type(error).__name__]
    original = getattr(error, "orig", None)
    if original is not None:
        parts.append(type(original).__name__)
        cause = original.__cause__ or original
        code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
        constraint = getattr(cause, "constraint_name", None) or getattr(
            getattr(original, "diag", None), "constraint_name", None
        )
        parts += [f"sqlstate {code}"] if isinstance(code, str) else []
        parts += [f"constraint {constraint}"] if isinstance(constraint, str) else []
    return " ".join([parts[0], f"({', '.join(parts[1:])})" if parts[1:] else ""]).strip()


def safe_traceback(error: BaseException) -> str:
    """The stack of an exception and of those it came from, each named by describe_error."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    lines: list[str] = []
    for exception in reversed(chain):  # the oldest first, as Python prints them
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(exception.__traceback__))
        lines.append(describe_error(exception) + "\n")
    return "".join(lines)


access_logger = logging.getLogger("samhandling.access")


class RequestObserver:
    """Counts and logs every finished request (the pipeline calls it once per request)."""

    def request_finished(
        self, scope: Scope, request_id: str, client_id: str | None, status: int, seconds: float
    ) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        HTTP_REQUESTS.labels(route, method, str(status)).inc()
        HTTP_DURATION.labels(route, method, str(status)).observe(seconds)
        if access_logger.isEnabledFor(logging.INFO):
            access_logger.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "client_id": client_id,
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    }
                },
            )


def metrics_payload() -> tuple[bytes, str]:
    """The exposition text; across all worker processes when they share a metrics folder."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int) -> None:
    """Metrics on a port of their own (SAMHANDLING_METRICS_PORT), from this process, summing the
    workers when they share a metrics folder."""
    from prometheus_client import start_http_server

    registry = REGISTRY
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped
    start_http_server(port, addr=host, registry=registry)
