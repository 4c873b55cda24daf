"""The API's PostgreSQL sessions carry their name, bound how long they may sit in a transaction,
and never JIT-compile."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.db import create_api_engine, is_database_unavailable
from app.settings import Settings


def session_settings(settings: Settings, *names: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        engine = create_api_engine(settings)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT name, setting FROM pg_settings WHERE name = ANY(:names)"), {"names": list(names)}
                )
                return {row.name: row.setting for row in rows}
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def pg_settings(dialect: str, request: pytest.FixtureRequest) -> Settings:
    if dialect != "postgresql":
        pytest.skip("session settings are PostgreSQL's")
    settings: Settings = request.getfixturevalue("settings")
    return settings


def test_api_sessions_are_named_and_bound_idle_transactions_by_the_setting(pg_settings: Settings) -> None:
    names = ("application_name", "idle_in_transaction_session_timeout")
    assert session_settings(pg_settings, *names) == {
        "application_name": "samhandling",
        "idle_in_transaction_session_timeout": "5000",  # milliseconds: the default
    }
    tuned = pg_settings.model_copy(update={"db_idle_in_transaction_timeout_ms": 1234})
    assert session_settings(tuned, *names)["idle_in_transaction_session_timeout"] == "1234"


def test_api_sessions_never_jit_compile(pg_settings: Settings) -> None:
    # The server's default is on; a request path statement is never worth 100+ ms of compiling.
    assert session_settings(pg_settings, "jit") == {"jit": "off"}


def test_a_transaction_left_idle_past_the_bound_is_ended_by_the_server(pg_settings: Settings) -> None:
    async def hold_open(timeout_ms: int) -> str:
        engine = create_api_engine(pg_settings.model_copy(update={"db_idle_in_transaction_timeout_ms": timeout_ms}))
        try:
            async with engine.connect() as connection:
                await connection.begin()
                await connection.execute(text("SELECT txid_current()"))  # holds a transaction id
                await asyncio.sleep(0.6)  # idle in the transaction, well past a 100 ms bound
                try:
                    await connection.execute(text("SELECT 1"))
                except Exception as error:  # the server has closed the session
                    # …and the request path treats that as the database being unavailable (503).
                    return "ended (503)" if is_database_unavailable(error) else f"ended: {error!r}"
                return "still open"
        finally:
            await engine.dispose()

    assert asyncio.run(hold_open(100)) == "ended (503)"
    assert asyncio.run(hold_open(0)) == "still open"  # 0: no bound, the same transaction lives on
