"""Database engines for both dialects, and the two ways the request path talks to them.

The API runs on asyncio drivers (asyncpg for PostgreSQL, aiosqlite for SQLite); migrations, the
CLI and tests use the synchronous drivers (psycopg, sqlite3) on the same URL. Reads run on
autocommit connections (no BEGIN/ROLLBACK round trips); writes run in one transaction that the
request pipeline commits together with its access-log entries (see app/http/pipeline.py).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.observability import DB_POOL_IN_USE, DB_POOL_SIZE
from app.settings import Settings

SQLITE_BUSY_TIMEOUT_SECONDS = 5.0


def _base_url(raw: str) -> URL:
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"DATABASE_URL must name sqlite or postgresql, not {backend!r}")
    return url


def is_sqlite(raw_url: str) -> bool:
    return _base_url(raw_url).get_backend_name() == "sqlite"


def async_url(raw: str) -> URL:
    url = _base_url(raw)
    driver = "sqlite+aiosqlite" if url.get_backend_name() == "sqlite" else "postgresql+asyncpg"
    return url.set(drivername=driver)


def sync_url(raw: str) -> URL:
    url = _base_url(raw)
    driver = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return url.set(drivername=driver)


def ensure_sqlite_directory(raw: str) -> None:
    """The embedded default lives under ./data/; the folder is made on first connect, and the file
    0600 like the keys beside it (it holds personal identity numbers; SQLite gives its -wal and
    -shm files the database file's mode)."""
    url = make_url(raw)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _install_sqlite_pragmas(sync_engine: Engine) -> None:
    """WAL, foreign keys and a busy timeout on every connection; explicit BEGINs.

    pysqlite's own transaction handling is switched off so SQLAlchemy's "begin" decides: write
    transactions take the write lock at once (BEGIN IMMEDIATE), so a transaction never fails
    half-way because another connection wrote after it started reading.
    """

    @event.listens_for(sync_engine, "do_connect")
    def _on_do_connect(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        ensure_sqlite_directory(str(sync_engine.url))

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_write") else "BEGIN")


APPLICATION_NAME = "samhandling"  # how the service's sessions show in pg_stat_activity


def _postgres_server_settings(settings: Settings, statement_timeout_ms: int | None = None) -> dict[str, str]:
    """Every session's settings: those of migrations, the CLI and tests (sync engines) too.

    `statement_timeout_ms` overrides the service's statement timeout (the verifier's own); the
    lock timeout stays the service's, so a verifier never queues long behind the sequencer. The
    idle-in-transaction bound is loose on purpose: a data migration or `audit verify` does Python
    work between the statements of one transaction.
    """
    statement_ms = statement_timeout_ms or settings.db_statement_timeout_ms
    return {
        "application_name": APPLICATION_NAME,
        "statement_timeout": str(statement_ms),
        "lock_timeout": str(settings.db_statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(max(statement_ms * 3, 30_000)),
        "timezone": "UTC",
    }


def _tls_connect_args(url: URL) -> dict[str, Any]:
    """No TLS attempt on loopback or a Unix socket unless the URL asks for one (`ssl=` or `sslmode=`).

    asyncpg's default ("prefer") negotiates TLS on every new connection: an SSLContext and an extra
    round trip per connect (12.8 % of a worker's CPU in issue 23's profile), for a hop that never
    leaves the host. Any other host keeps the driver's default, or what the URL says."""
    if "ssl" in url.query or "sslmode" in url.query:
        return {}
    host = url.host or url.query.get("host")
    if isinstance(host, tuple):
        host = host[0] if host else None
    if not host or host.startswith("/") or host == "localhost":
        return {"ssl": False}
    try:
        return {"ssl": False} if ipaddress.ip_address(host).is_loopback else {}
    except ValueError:  # a host name: it may well be remote
        return {}


def _pool_args(settings: Settings) -> dict[str, Any]:
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
    }


def _create_pgbouncer_engine(settings: Settings) -> AsyncEngine:
    """Behind pgbouncer in transaction pooling, consecutive statements outside a transaction (the
    read path's autocommit) may run on different server connections, so nothing may be prepared
    in one message and executed in another — which asyncpg always does. psycopg sends each
    statement whole (parse, bind, execute, one sync) and, with `prepare_threshold=None`, never
    keeps a named prepared statement on the server."""
    url = async_url(settings.database_url).set(drivername="postgresql+psycopg")
    return create_async_engine(
        url,
        hide_parameters=HIDE_PARAMETERS,
        **_pool_args(settings),
        connect_args={
            "connect_timeout": max(1, int(settings.db_connect_timeout)),
            "prepare_threshold": None,
            # The one session setting pgbouncer lets a client send at connect; it refuses the others
            # (statement_timeout …) unless told to ignore them, so the role carries those (README).
            "application_name": APPLICATION_NAME,
        },
    )


def _api_server_settings(settings: Settings) -> dict[str, str]:
    """The API's and the worker's sessions: their transactions never wait on anything but the
    database, so one left open and idle is a process frozen (SIGSTOP, a debugger, a stuck
    event loop) or a bug. While it is open the sequencer cannot chain past its transaction, so
    the log head, the event feed and log reads stall for every instance (issue 24: 28.6 s under
    the old 30 s bound); the server ends such a session after this much idleness instead.

    No JIT: the request path's statements run in milliseconds, and compiling one costs 100–170 ms
    whenever an estimate crosses `jit_above_cost` (a child's report page at 10⁷ entries: 150 ms
    of JIT in a 296 ms page, bench/CHILD_REPORT.txt) — a misestimate becomes a stall."""
    return {
        **_postgres_server_settings(settings),
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
        "jit": "off",
    }


def _count_pool_use(engine: AsyncEngine, settings: Settings) -> AsyncEngine:
    DB_POOL_SIZE.inc(settings.db_pool_size)
    event.listen(engine.sync_engine.pool, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(engine.sync_engine.pool, "checkin", lambda *_: DB_POOL_IN_USE.dec())
    return engine


def create_api_engine(settings: Settings) -> AsyncEngine:
    """The engine of one API or worker process."""
    return _count_pool_use(_create_api_engine(settings), settings)


# Every engine hides statement parameters from its error messages: they are the request's data
# (a concern's description, a guardian's name, a personnummer) and would reach the server log.
HIDE_PARAMETERS = True


def _create_api_engine(settings: Settings) -> AsyncEngine:
    url = async_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url,
            hide_parameters=HIDE_PARAMETERS,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            **_pool_args(settings),
        )
        _install_sqlite_pragmas(engine.sync_engine)
        return engine
    if settings.db_pgbouncer:
        return _create_pgbouncer_engine(settings)
    return create_async_engine(
        url,
        hide_parameters=HIDE_PARAMETERS,
        **_pool_args(settings),
        connect_args={
            "timeout": settings.db_connect_timeout,
            # The client-side guard for a server that stops answering mid-statement.
            "command_timeout": settings.db_statement_timeout_ms / 1000,
            "server_settings": _api_server_settings(settings),
            **_tls_connect_args(url),
        },
    )


def create_sync_engine(settings: Settings, *, pooled: bool = False, statement_timeout_ms: int | None = None) -> Engine:
    """A synchronous engine for migrations, the CLI and tests; `statement_timeout_ms` replaces the
    service's statement timeout on PostgreSQL (SQLite has none)."""
    url = sync_url(settings.database_url)
    poolclass = None if pooled else NullPool
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            poolclass=poolclass,
            hide_parameters=HIDE_PARAMETERS,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        _install_sqlite_pragmas(engine)
        return engine
    options = " ".join(
        f"-c {key}={value}" for key, value in _postgres_server_settings(settings, statement_timeout_ms).items()
    )
    return create_engine(
        url,
        poolclass=poolclass,
        hide_parameters=HIDE_PARAMETERS,
        connect_args={"connect_timeout": max(1, int(settings.db_connect_timeout)), "options": options},
    )


@contextmanager
def sync_connection(settings: Settings) -> Iterator[Any]:
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


class Database:
    """One process's engine and the two session kinds the request path uses."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._read_bind = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._write_bind = engine.execution_options(sqlite_write=True)

    def read_session(self, connection: AsyncConnection | None = None) -> AsyncSession:
        """Autocommit: every statement sees the latest committed state, no transaction kept."""
        return AsyncSession(bind=connection or self._read_bind, expire_on_commit=False, autoflush=False)

    async def read_connection(self) -> AsyncConnection:
        """An autocommit Core connection (close it when done)."""
        return await self._read_bind.connect()

    def write_session(self) -> AsyncSession:
        """One transaction, committed by the request pipeline together with the log entries."""
        return AsyncSession(bind=self._write_bind, expire_on_commit=False, autoflush=False)

    async def dispose(self) -> None:
        await self.engine.dispose()


def is_database_unavailable(error: BaseException) -> bool:
    """Errors that mean "the database cannot answer right now" (→ 503), not "bad request".

    Connection refused or lost, pool exhausted, statement or lock timeout, server shutting down.
    """
    if isinstance(error, (sa_exc.TimeoutError, TimeoutError, ConnectionError)):
        return True
    if isinstance(error, OSError) and not isinstance(error, sa_exc.SQLAlchemyError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            return True
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        # 08: connection exception; 57: operator intervention (query canceled, admin shutdown);
        # 55P03: lock not available; 53: insufficient resources (too many connections).
        if isinstance(sqlstate, str) and (sqlstate[:2] in {"08", "57", "53"} or sqlstate == "55P03"):
            return True
    return False


def insert_ignoring_conflict(dialect_name: str, table: Any, *index_elements: str) -> Any:
    """INSERT … ON CONFLICT (index_elements) DO NOTHING, on either dialect."""
    from sqlalchemy.dialects import postgresql, sqlite

    module = postgresql if dialect_name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
