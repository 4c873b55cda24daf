"""The `samhandling` command: usable on a fresh install, results on stdout, logs on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        check=check,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fresh_install(tmp_path: Path, database_url: str) -> dict[str, str]:
    """An environment pointing at an empty database (not migrated) of the test's dialect."""
    env = {**os.environ, "SAMHANDLING_SIGNING_KEY_FILE": str(tmp_path / "key.pem")}
    if database_url.startswith("sqlite"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        env["DATABASE_URL"] = database_url  # already migrated; migrate is idempotent
    return env


def test_bootstrap_from_a_fresh_install(fresh_install: dict[str, str]) -> None:
    run(fresh_install, "migrate")
    agency = run(fresh_install, "agencies", "add", "--id", "ops", "--kind", "social_services", "--name", "Ops")
    assert json.loads(agency.stdout)["id"] == "ops"
    added = run(fresh_install, "clients", "add", "--agency", "ops", "--role", "admin", "--name", "Admin tool")
    created = json.loads(added.stdout)  # exactly one JSON object on stdout
    assert set(created) == {"client_id", "client_secret", "agency_id", "role", "scopes", "platform"}
    assert created["scopes"] == ["admin"]
    assert created["platform"] is False
    revoked = run(fresh_install, "clients", "revoke", created["client_id"])
    assert json.loads(revoked.stdout)["revoked_at"]
    again = run(fresh_install, "clients", "revoke", created["client_id"], check=False)
    assert again.returncode == 1
    assert "already revoked" in again.stderr


def test_cli_errors_go_to_stderr_with_a_nonzero_exit(fresh_install: dict[str, str]) -> None:
    run(fresh_install, "migrate")
    result = run(fresh_install, "clients", "add", "--agency", "nowhere", "--role", "admin", "--name", "X", check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no agency" in result.stderr
    invalid = run(fresh_install, "agencies", "add", "--id", "x", "--kind", "school", "--name", "X", check=False)
    assert invalid.returncode == 2


def test_cli_actions_are_in_the_access_log(fresh_install: dict[str, str]) -> None:
    run(fresh_install, "migrate")
    run(fresh_install, "agencies", "add", "--id", "logged", "--kind", "school", "--name", "Logged")
    from sqlalchemy import create_engine, text

    from app.db import sync_url

    engine = create_engine(sync_url(fresh_install["DATABASE_URL"]))
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT role, action, resource_id FROM access_log WHERE resource_id = 'logged'")
        ).all()
    engine.dispose()
    assert [(row.role, row.action) for row in rows] == [("operator", "cli-agencies-add")]


def test_only_the_cli_makes_a_platform_admin(fresh_install: dict[str, str]) -> None:
    run(fresh_install, "migrate")
    run(fresh_install, "agencies", "add", "--id", "ops", "--kind", "social_services", "--name", "Ops")
    added = run(fresh_install, "clients", "add", "--agency", "ops", "--role", "admin", "--name", "Ops", "--platform")
    assert json.loads(added.stdout)["platform"] is True
    wrong = run(
        fresh_install,
        "clients",
        "add",
        "--agency",
        "ops",
        "--role",
        "practitioner",
        "--name",
        "X",
        "--platform",
        check=False,
    )
    assert wrong.returncode == 1
    assert "platform" in wrong.stderr


def test_the_cli_adds_an_analyst_with_the_statistics_scope_only(fresh_install: dict[str, str]) -> None:
    run(fresh_install, "migrate")
    run(fresh_install, "agencies", "add", "--id", "region", "--kind", "social_services", "--name", "Regionen")
    added = run(fresh_install, "clients", "add", "--agency", "region", "--role", "analyst", "--name", "Uppföljning")
    created = json.loads(added.stdout)
    assert (created["role"], created["scopes"]) == ("analyst", ["statistics:read"])


def test_retention_plan_counts_and_retention_run_purges_and_is_logged(
    database_url: str, signing_key_file: Path
) -> None:
    """On the test's migrated database (no `migrate` run: two processes are enough)."""
    from sqlalchemy import create_engine, text

    from app.db import sync_url

    env = {**os.environ, "DATABASE_URL": database_url, "SAMHANDLING_SIGNING_KEY_FILE": str(signing_key_file)}
    counts = {"plan": 0, "team": 0, "concern": 0, "consent": 0, "assessment": 0, "child": 0}
    assert json.loads(run(env, "retention", "plan").stdout) == counts
    configured = {**env, "SAMHANDLING_RETENTION_CONCERN_DAYS": "1826"}
    assert json.loads(run(configured, "retention", "run").stdout) == counts
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT role FROM access_log WHERE action = 'cli-retention-run'")).all()
    engine.dispose()
    assert [row.role for row in rows] == ["operator"]
