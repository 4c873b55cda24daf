"""The sandbox for newcomers, and a shutdown that loses no request in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.server import issue_token, running_server


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=180)


def test_demo_seeds_a_sandbox_once_and_its_credentials_work(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "SAMHANDLING_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem"),
        "SAMHANDLING_SECRETS_KEY_FILE": str(tmp_path / "secrets.key"),
    }
    assert run(env, "migrate").returncode == 0
    first = run(env, "demo")
    second = run(env, "demo")
    assert first.returncode == second.returncode == 0
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in first.stdout.splitlines() if line.startswith("export ")
    )
    assert set(exports) >= {"SCHOOL_CLIENT_ID", "SOCIAL_CLIENT_SECRET", "AUDITOR_CLIENT_ID", "ADMIN_CLIENT_ID"}
    assert [line for line in second.stdout.splitlines() if line.startswith("export ")] == [
        line for line in first.stdout.splitlines() if line.startswith("export ")
    ]  # idempotent: nothing new, the same credentials
    assert first.stdout.count("curl ") == 3
    assert "shown only" not in first.stdout  # they are printed on every run and kept in a file: say so
    assert "printed again on every run" in first.stdout
    assert (tmp_path / "demo.db").stat().st_mode & 0o777 == 0o600  # like the keys beside it
    assert (tmp_path / "demo-credentials.json").stat().st_mode & 0o777 == 0o600
    on_another_port = run({**env, "PORT": "18431"}, "demo")
    assert "localhost:18431/oauth/token" in on_another_port.stdout  # the hints follow the port
    assert "localhost:8000" not in on_another_port.stdout
    with running_server(
        env["DATABASE_URL"], tmp_path / "signing-key.pem", tmp_path / "server.log", workers=1
    ) as server:
        token = httpx.post(
            f"{server.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(exports["SOCIAL_CLIENT_ID"], exports["SOCIAL_CLIENT_SECRET"]),
        ).json()["access_token"]
        concerns = httpx.get(f"{server.url}/api/v1/concerns", headers={"Authorization": f"Bearer {token}"}).json()
        assert len(concerns["items"]) == 1  # the demo's mandatory report reaches social services
        health = issue_token(server.url, exports["HEALTH_CLIENT_ID"], exports["HEALTH_CLIENT_SECRET"])
        consents = httpx.get(f"{server.url}/api/v1/consents", headers={"Authorization": f"Bearer {health}"}).json()
        (consent,) = consents["items"]  # the family's consent, confirmed by every agency it names
        assert consent["status"] == "active"
        assert all(party["confirmed_at"] for party in consent["parties"])
        seen = httpx.get(f"{server.url}/api/v1/concerns", headers={"Authorization": f"Bearer {health}"}).json()
        assert len(seen["items"]) == 1  # the school's concern, disclosed under the confirmed consent


def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SAMHANDLING_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem"),
        "SAMHANDLING_SECRETS_KEY_FILE": str(tmp_path / "secrets.key"),
    }
    assert run(env, "migrate").returncode == 0
    demo = run(env, "demo")
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in demo.stdout.splitlines() if line.startswith("export ")
    )
    with running_server(
        env["DATABASE_URL"], tmp_path / "signing-key.pem", tmp_path / "server.log", workers=1
    ) as server:
        token = httpx.post(
            f"{server.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(exports["SCHOOL_CLIENT_ID"], exports["SCHOOL_CLIENT_SECRET"]),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        feed = httpx.get(f"{server.url}/api/v1/events", headers=headers).json()
        result: dict[str, int] = {}

        def long_poll() -> None:  # in flight when the signal comes
            response = httpx.get(
                f"{server.url}/api/v1/events",
                params={"after": feed["next_cursor"], "wait": 3},
                headers=headers,
                timeout=20,
            )
            result["status"] = response.status_code

        thread = threading.Thread(target=long_poll)
        thread.start()
        time.sleep(1)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGTERM)
        thread.join(timeout=20)
        assert result == {"status": 200}
        assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
