"""The database goes away under load: 503 problems within the timeout, never a hang or a 500;
it comes back: the service recovers by itself, without a restart, and the log verifies."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.audit.verify import run_verification
from app.security.keys import KeyRing
from app.settings import Settings
from tests.contract.harness import Credentials
from tests.reliability.api import Api, concern_body
from tests.reliability.proxy import DatabaseProxy
from tests.server import Server

TIMEOUTS = {
    "SAMHANDLING_DB_CONNECT_TIMEOUT": "1",
    "SAMHANDLING_DB_STATEMENT_TIMEOUT_MS": "2000",
    "SAMHANDLING_DB_POOL_TIMEOUT": "1",
}
# The request deadline (connect + statement + pool wait) and a second; two more for a CI
# machine busy with other tests at the same time.
LIMIT_SECONDS = 1 + 2 + 1 + 1 + 2


def hammer(api: Api, child: str, seconds: float) -> tuple[Counter[int], float, list[str]]:
    """Mixed reads and writes from 4 threads; statuses, the slowest answer, the 503 bodies' types."""
    statuses: Counter[int] = Counter()
    slowest = 0.0
    problems: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(worker: int) -> None:
        nonlocal slowest
        with api.client(timeout=LIMIT_SECONDS + 5) as http:
            while time.monotonic() < deadline:
                started = time.monotonic()
                if worker % 2:
                    response = http.post("/api/v1/concerns", json=concern_body(child))
                else:
                    response = http.get("/api/v1/concerns", params={"limit": 5})
                elapsed = time.monotonic() - started
                with lock:
                    statuses[response.status_code] += 1
                    slowest = max(slowest, elapsed)
                    if response.status_code == 503:
                        problems.append(response.headers["content-type"])

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, slowest, problems


@pytest.mark.parametrize(
    "failure",
    [
        # Open (stop 29): once, under a loaded CI run, /readyz answered 200 while the proxy was down.
        pytest.param("down", marks=pytest.mark.xfail(reason="readyz seen 200 during an outage once", strict=False)),
        "blackhole",
    ],
)
def test_an_outage_answers_503_quickly_and_the_service_recovers_by_itself(
    seeded: dict[str, Credentials],
    start_server: Callable[..., Server],
    proxy: DatabaseProxy,
    pg_database: str,
    signing_key_file: Path,
    secrets_key_file: Path,
    failure: str,
) -> None:
    server = start_server(via=proxy, **TIMEOUTS)
    api = Api.login(server.url, seeded["school"])
    child = api.child(1)
    before, _, _ = hammer(api, child, 1.5)
    assert set(before) <= {200, 201}, before

    getattr(proxy, failure)()
    during, slowest, problems = hammer(api, child, 4)
    assert 503 in during, during
    assert not {status for status in during if status >= 500} - {503}, during  # never a 500
    assert slowest <= LIMIT_SECONDS, f"an answer took {slowest:.1f}s while the database was gone"
    assert set(problems) == {"application/problem+json"}
    readiness = httpx.get(f"{server.url}/readyz", timeout=LIMIT_SECONDS + 2)
    assert readiness.status_code == 503

    proxy.up()
    recovered_at = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
            recovered_at = time.monotonic()
            break
        time.sleep(0.2)
    assert recovered_at is not None, "the service did not recover without a restart"
    # Connections the outage broke are found and replaced on first use: soon every request works.
    for _ in range(10):
        after, _, _ = hammer(api, child, 1)
        if set(after) <= {200, 201}:
            break
    assert set(after) <= {200, 201}, after

    settings = Settings(database_url=pg_database, signing_key_file=signing_key_file, secrets_key_file=secrets_key_file)
    result = run_verification(settings, KeyRing.load(signing_key_file))
    assert result.valid, result.reason
