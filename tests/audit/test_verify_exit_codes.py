"""`samhandling audit verify` exits 0 intact, 1 broken, 2 when it could not check — one line, no
traceback — and runs under its own statement timeout, not the request path's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy import exc as sa_exc

from app.audit import verify as verify_module
from app.audit.checkpoints import load_checkpoints
from app.audit.verify import verifier_engine
from app.cli import main
from app.db import create_sync_engine
from app.settings import Settings, get_settings
from tests.audit.test_tamper import entry_id, unguarded
from tests.support import World

pytestmark = pytest.mark.usefixtures("cli_env")
TIMEOUTS = ("statement_timeout", "lock_timeout")


def could_not_check(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.startswith("audit verify:")]
    assert len(lines) == 1
    assert lines[0].startswith("audit verify: could not check: ")
    return lines[0]


def test_verify_exits_0_intact_and_1_on_a_tampered_entry(
    settings: Settings, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.agency("school", "exit-codes")
    world.admin()  # a token request and its entries
    assert main(["audit", "verify", "--no-checkpoint"]) == 0
    assert "checked" in capsys.readouterr().err
    unguarded(settings, "UPDATE access_log SET outcome = 'denied' WHERE id = :id", id=entry_id(world, 2))
    assert main(["audit", "verify", "--no-checkpoint"]) == 1
    assert "broken at entry 2" in capsys.readouterr().err


def test_verify_exits_2_when_the_database_cannot_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(_connection: Connection) -> Any:
        raise sa_exc.OperationalError("SELECT …", {}, OSError("the server closed the connection"))

    monkeypatch.setattr(verify_module, "load_checkpoints", refuse)
    assert main(["audit", "verify"]) == 2
    assert "the server closed the connection" in could_not_check(capsys)


@pytest.mark.parametrize(
    "url", ["postgresql://postgres@127.0.0.1:1/nowhere", "sqlite:////proc/no-such-folder/samhandling.db"]
)
def test_verify_exits_2_when_the_database_is_unreachable(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], dialect: str
) -> None:
    if not url.startswith(dialect):
        pytest.skip("one unreachable database per dialect")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SAMHANDLING_DB_CONNECT_TIMEOUT", "1")
    get_settings.cache_clear()
    assert main(["audit", "verify"]) == 2
    could_not_check(capsys)


def test_verify_exits_2_without_its_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAMHANDLING_SIGNING_KEY_FILE", str(tmp_path / "absent.pem"))
    get_settings.cache_clear()
    assert main(["audit", "verify"]) == 2
    assert "signing key" in could_not_check(capsys)


def test_verify_exits_2_when_a_statement_outruns_its_timeout(
    dialect: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real statement_timeout on PostgreSQL (SQLite has none: the error is covered above)."""
    if dialect != "postgresql":
        pytest.skip("PostgreSQL's statement_timeout")
    original = load_checkpoints

    def slow(connection: Connection) -> Any:
        connection.execute(text("SELECT pg_sleep(30)"))
        return original(connection)

    monkeypatch.setattr(verify_module, "load_checkpoints", slow)
    monkeypatch.setenv("SAMHANDLING_AUDIT_VERIFY_TIMEOUT_SECONDS", "0.2")
    get_settings.cache_clear()
    assert main(["audit", "verify"]) == 2
    assert "SAMHANDLING_AUDIT_VERIFY_TIMEOUT_SECONDS" in could_not_check(capsys)


def test_the_verifier_has_its_own_statement_timeout(settings: Settings, dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("PostgreSQL's statement_timeout")

    def shown(engine: Engine) -> tuple[str, str]:
        try:
            with engine.connect() as connection:
                return tuple(connection.execute(text(f"SHOW {name}")).scalar_one() for name in TIMEOUTS)
        finally:
            engine.dispose()

    verifier = shown(verifier_engine(settings.model_copy(update={"audit_verify_timeout_seconds": 123})))
    service = shown(create_sync_engine(settings))
    assert verifier[0] == "123s" != service[0]
    assert verifier[1] == service[1]  # the lock timeout stays the service's: never queue long behind the sequencer
