"""A backup restores into a new database where the data is whole and the log verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from app.audit.verify import run_verification
from app.main import create_app
from app.security.keys import KeyRing
from app.settings import Settings
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.support import Domain, World


def cli_backup(settings: Settings, path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SAMHANDLING_SIGNING_KEY_FILE": str(settings.signing_key_file),
    }
    return subprocess.run(
        [sys.executable, "-m", "app", "backup", str(path)], env=env, capture_output=True, text=True, timeout=300
    )


def test_backup_and_restore(
    settings: Settings, client: TestClient, world: World, domain: Domain, dialect: str, tmp_path: Path
) -> None:
    school = world.agency("school")
    child = domain.child(school)
    concern = domain.concern(school, child)
    assert run_verification(settings, KeyRing.load(settings.signing_key_file)).valid  # and a checkpoint

    path = tmp_path / ("backup.sqlite" if dialect == "sqlite" else "backup.dump")
    made = cli_backup(settings, path)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["bytes"] > 0
    refused = cli_backup(settings, path)  # never overwrites a file
    assert refused.returncode == 1
    assert "exists" in refused.stderr

    restored_name = None
    if dialect == "sqlite":
        restored_url = f"sqlite:///{path}"
    else:
        restored_name = f"samhandling_restored_{uuid.uuid4().hex[:8]}"
        restored_url = create_postgres_database(restored_name)
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={restored_url}", str(path)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    try:
        restored = settings.model_copy(update={"database_url": restored_url})
        result = run_verification(restored, KeyRing.load(settings.signing_key_file))
        assert result.valid, result.reason
        assert result.checkpoints_verified >= 1
        with TestClient(create_app(restored)) as again:
            response = again.get(f"/api/v1/concerns/{concern['id']}", headers=world.headers(school))
            assert response.status_code == 200  # tokens and data work on the restored copy
    finally:
        if restored_name:
            drop_postgres_database(restored_name)
