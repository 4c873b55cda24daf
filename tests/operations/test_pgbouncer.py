"""The API behind pgbouncer in transaction pooling (SAMHANDLING_DB_PGBOUNCER): concurrent reads and
writes, interleaved over fewer server connections than the app holds, all answered — no prepared
statement expected on a server connection that never saw it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.settings import Settings
from tests.server import free_port, running_server
from tests.support import Domain, World

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture
def pgbouncer(dialect: str, settings: Settings) -> Iterator[str]:
    """pgbouncer in transaction pooling with two server connections, in front of the test's database."""
    if dialect != "postgresql":
        pytest.skip("pgbouncer is PostgreSQL's")
    if not Path(PGBOUNCER).exists():
        if os.environ.get("CI"):
            pytest.fail("pgbouncer is missing (.ci/run installs it)")
        pytest.skip("pgbouncer is not installed")
    database = make_url(settings.database_url)
    port = free_port()
    # Its own folder outside pytest's (which only root may enter): pgbouncer runs as postgres.
    tmp_path = Path(tempfile.mkdtemp(prefix="samhandling-pgbouncer-"))
    (tmp_path / "users.txt").write_text(f'"{database.username}" ""\n')
    (tmp_path / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={database.host} port={database.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {tmp_path / "users.txt"}
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
logfile = {tmp_path / "pgbouncer.log"}
pidfile = {tmp_path / "pgbouncer.pid"}
"""
    )
    process = subprocess.Popen(_as_unprivileged([PGBOUNCER, str(tmp_path / "pgbouncer.ini")], tmp_path))
    url = database.set(port=port).render_as_string(hide_password=False)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=1) as probe:
                    probe.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _as_unprivileged(command: list[str], folder: Path) -> list[str]:
    """pgbouncer refuses to run as root: run it as the postgres user, which may read its folder."""
    if os.geteuid() != 0:
        return command
    shutil.chown(folder, "postgres")
    for file in folder.iterdir():
        shutil.chown(file, "postgres")
    return ["runuser", "-u", "postgres", "--", *command]


def test_concurrent_requests_through_pgbouncer_in_transaction_pooling_all_succeed(
    pgbouncer: str, settings: Settings, world: World, domain: Domain, signing_key_file: Path, tmp_path: Path
) -> None:
    school = world.agency("school")
    credentials = world.client(school)
    child = domain.child(school)
    extra = {"SAMHANDLING_DB_PGBOUNCER": "true", "SAMHANDLING_SECRETS_KEY_FILE": str(settings.secrets_key_file)}
    with running_server(pgbouncer, signing_key_file, tmp_path / "server.log", workers=1, **extra) as server:

        async def load() -> dict[int, int]:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                token = await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(credentials.client_id, credentials.client_secret),
                )
                headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
                concern = {"child_id": child, "areas": ["safe"], "description": "Orolig.", "urgency": "routine"}

                async def one(index: int) -> int:
                    if index % 3 == 0:
                        answer = await http.post("/api/v1/concerns", json=concern, headers=headers)
                    else:
                        answer = await http.get("/api/v1/concerns", headers=headers)
                    return answer.status_code

                statuses = await asyncio.gather(*(one(index) for index in range(60)))
                return {status: statuses.count(status) for status in set(statuses)}

        counts = asyncio.run(load())
    assert counts == {201: 20, 200: 40}, counts
