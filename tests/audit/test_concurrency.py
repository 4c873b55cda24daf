"""Several workers appending at once: the chain stays linear, gap-free and verifiable."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.audit.verify import run_verification
from app.security.keys import KeyRing
from app.settings import Settings
from tests.server import running_server
from tests.support import World


def test_two_workers_and_a_cli_writing_at_once_keep_one_chain(
    dialect: str, settings: Settings, world: World, tmp_path: Path
) -> None:
    if dialect != "postgresql":
        pytest.skip("concurrent writers from several processes are the PostgreSQL case")
    admin = world.client(world.agency("social_services", "concurrency-ops"), "admin", platform=True)
    with running_server(settings.database_url, settings.signing_key_file, tmp_path / "server.log") as server:

        def burst(worker: int) -> list[int]:
            statuses = []
            with httpx.Client(base_url=server.url, timeout=30) as http:
                token = http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(admin.client_id, admin.client_secret),
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                for index in range(25):
                    if index % 5 == 0:
                        body = {"id": f"c-{worker}-{index}", "kind": "school", "name": "C"}
                        statuses.append(http.post("/api/v1/agencies", json=body, headers=headers).status_code)
                    else:
                        statuses.append(http.get("/api/v1/agencies", headers=headers).status_code)
            return statuses

        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "SAMHANDLING_SIGNING_KEY_FILE": str(settings.signing_key_file),
        }
        cli = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "agencies",
                    "add",
                    "--id",
                    f"cli-{n}",
                    "--kind",
                    "school",
                    "--name",
                    "X",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for n in range(3)
        ]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = [status for statuses in pool.map(burst, range(8)) for status in statuses]
        assert all(process.wait(timeout=60) == 0 for process in cli)

    assert set(results) <= {200, 201}
    result = run_verification(settings, KeyRing.load(settings.signing_key_file))  # chains what is pending
    assert result.valid, result.reason
    sequence = [row.seq for row in world.sql("SELECT seq FROM access_log_chain ORDER BY seq")]
    assert sequence == list(range(1, len(sequence) + 1))
    entries = world.sql("SELECT count(*) AS n FROM access_log")[0].n
    assert len(sequence) == entries >= 8 * 25 + 3
    chained_once = world.sql("SELECT count(DISTINCT entry_id) AS n FROM access_log_chain")[0].n
    assert chained_once == entries
