"""deploy/multi-instance: two API processes, two workers, one PostgreSQL, nginx in front — as it is
committed, started by its own script, used across the instances, and stopped cleanly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.server import free_port
from tests.support import personnummer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "multi-instance" / "run.sh"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the deployment stopped while starting"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready within {timeout} s")


@pytest.fixture
def deployment(postgres_available: bool, signing_key_file: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    if not postgres_available:
        pytest.skip("the multi-instance deployment runs on PostgreSQL")
    if not Path(NGINX).exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is missing (.ci/run installs it)")
        pytest.skip("nginx is not installed")
    name = f"samhandling_multi_{os.getpid()}"
    url = create_postgres_database(name)
    key_file = tmp_path / "signing-key.pem"
    key_file.write_bytes(signing_key_file.read_bytes())
    key_file.chmod(0o600)
    ports = [free_port(), free_port(), free_port()]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SAMHANDLING_SIGNING_KEY_FILE": str(key_file),
        "SAMHANDLING_SECRETS_KEY_FILE": str(tmp_path / "secrets.key"),
        "SAMHANDLING_LOG_LEVEL": "WARNING",
        "BIN": str(Path(sys.executable).parent),
        "NGINX": NGINX,
        "API_PORTS": f"{ports[0]} {ports[1]}",
        "PROXY_PORT": str(ports[2]),
        "RUN_DIR": str(tmp_path / "run"),
    }
    process = subprocess.Popen(["bash", str(SCRIPT)], env=env, start_new_session=True)
    info = {
        "a": f"http://127.0.0.1:{ports[0]}",
        "b": f"http://127.0.0.1:{ports[1]}",
        "proxy": f"http://127.0.0.1:{ports[2]}",
        "pgid": str(process.pid),
    }
    try:
        for where in ("a", "b", "proxy"):
            _wait_ready(info[where], process)
        yield {**info, **{f"env:{key}": value for key, value in env.items() if key.startswith(("DATABASE", "SAMH"))}}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) is not None  # the script stops everything it started
        time.sleep(0.5)
        survivors = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert survivors == [], f"processes left running: {survivors}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        else:
            subprocess.run(["pkill", "-KILL", "-g", str(process.pid)], check=False)
        drop_postgres_database(name)


def _cli(deployment: dict[str, str], *args: str) -> dict[str, object]:
    env = {**os.environ, **{key[4:]: value for key, value in deployment.items() if key.startswith("env:")}}
    done = subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_two_instances_behind_nginx_share_tokens_records_and_the_feed(deployment: dict[str, str]) -> None:
    _cli(deployment, "agencies", "add", "--id", "school-1", "--kind", "school", "--name", "Skolan")
    client = _cli(deployment, "clients", "add", "--agency", "school-1", "--role", "practitioner", "--name", "Skola")
    credentials = (str(client["client_id"]), str(client["client_secret"]))
    issued = httpx.post(
        f"{deployment['proxy']}/oauth/token", data={"grant_type": "client_credentials"}, auth=credentials
    )
    assert issued.status_code == 200, issued.text
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}

    child = httpx.post(f"{deployment['a']}/api/v1/children", json={"personnummer": personnummer()}, headers=headers)
    assert child.status_code in (200, 201), child.text
    body = {"child_id": child.json()["id"], "areas": ["safe"], "description": "Orolig.", "urgency": "routine"}
    concern = httpx.post(f"{deployment['a']}/api/v1/concerns", json=body, headers=headers)
    assert concern.status_code == 201, concern.text

    # The token from the proxy and the record written at A, read at B and through the proxy.
    path = f"/api/v1/concerns/{concern.json()['id']}"
    assert httpx.get(f"{deployment['b']}{path}", headers=headers).status_code == 200
    for _ in range(4):  # the proxy spreads these over both
        assert httpx.get(f"{deployment['proxy']}{path}", headers=headers).status_code == 200
    feed = httpx.get(f"{deployment['b']}/api/v1/events", headers=headers)
    assert feed.status_code == 200, feed.text
    assert "concern.received" in [event["type"] for event in feed.json()["items"]]

    # Through the proxy the server builds its URLs from X-Forwarded-* (a trailing-slash redirect).
    redirected = httpx.get(f"{deployment['proxy']}/api/v1/concerns/", headers=headers)
    assert redirected.status_code in (307, 308)
    assert redirected.headers["location"].startswith(deployment["proxy"])
