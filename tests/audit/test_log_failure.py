"""Nothing without its log entry: a write and its entries commit together; a read whose entry
cannot be written returns 503 and no data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.db import create_sync_engine
from app.settings import Settings
from tests.support import World


def break_log_inserts(settings: Settings) -> None:
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text(
                        "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ "
                        "BEGIN RAISE EXCEPTION 'log storage broken'; END $$"
                    )
                )
                connection.execute(
                    text(
                        "CREATE TRIGGER broken BEFORE INSERT ON access_log "
                        "FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
                    )
                )
            else:
                connection.execute(
                    text("CREATE TRIGGER broken BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, 'broken'); END")
                )
    finally:
        engine.dispose()


def test_a_write_whose_log_entry_fails_leaves_no_trace(client: TestClient, world: World, settings: Settings) -> None:
    admin = world.admin()
    break_log_inserts(settings)
    response = client.post(
        "/api/v1/agencies", json={"id": "ghost-school", "kind": "school", "name": "Ghost"}, headers=admin
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "ghost-school" not in response.text
    assert world.sql("SELECT id FROM agencies WHERE id = 'ghost-school'") == []


def test_a_read_whose_log_entry_fails_returns_503_and_no_data(
    client: TestClient, world: World, settings: Settings
) -> None:
    world.agency("school", "secret-school")
    admin = world.admin()
    assert "secret-school" in client.get("/api/v1/agencies", headers=admin).text
    break_log_inserts(settings)
    response = client.get("/api/v1/agencies", headers=admin)
    assert response.status_code == 503
    assert "secret-school" not in response.text
    assert int(response.headers["retry-after"]) >= 1
