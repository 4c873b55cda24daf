"""The documented PostgreSQL role: the API works under it, and it cannot change the log."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy.engine import make_url

from app.main import create_app
from app.settings import Settings
from tests.support import World

GRANTS = Path(__file__).resolve().parents[2] / "deploy" / "postgres-least-privilege.sql"


def test_the_api_runs_under_a_role_that_can_only_append_to_the_log(
    dialect: str, settings: Settings, tmp_path: Path
) -> None:
    if dialect != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")
    role = f"samhandling_app_{uuid.uuid4().hex[:8]}"
    owner_url = make_url(settings.database_url)
    owner_dsn = owner_url.set(drivername="postgresql").render_as_string(hide_password=False)
    lines = [line for line in GRANTS.read_text().splitlines() if not line.lstrip().startswith("--")]
    statements = [part.strip() for part in "\n".join(lines).replace(':"app_role"', f'"{role}"').split(";")]
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        owner.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        try:
            for statement in filter(None, statements):
                owner.execute(statement)
            app_settings = settings.model_copy(
                update={"database_url": owner_url.set(username=role).render_as_string(hide_password=False)}
            )
            with TestClient(create_app(app_settings)) as client:
                world = World(settings, client)  # factories work as the owner, like an operator
                school = world.agency("school")
                response = client.get("/api/v1/agencies", headers=world.headers(school))
                assert response.status_code == 403  # served, and logged, under the restricted role
                verify = client.get("/api/v1/access-log/verify", headers=world.auditor())
                assert verify.status_code == 200
                assert verify.json()["valid"] is True
            with psycopg.connect(owner_url.set(drivername="postgresql", username=role).render_as_string()) as app:
                for statement in ("UPDATE access_log SET outcome = 'x'", "DELETE FROM access_log_chain"):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        app.execute(statement)
                    app.rollback()
        finally:
            owner.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            owner.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
