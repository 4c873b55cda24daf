"""Minutes of mixed load from several clients: no 5xx, bounded memory, an intact log.

SAMHANDLING_SOAK_SECONDS sets the length (CI: 60 s; run it longer by hand).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from app.audit.verify import run_verification
from app.security.keys import KeyRing
from app.settings import Settings
from tests.contract.harness import Credentials
from tests.reliability.api import Api, concern_body
from tests.server import Server

SOAK_SECONDS = float(os.environ.get("SAMHANDLING_SOAK_SECONDS", "60"))
# After a warm-up, a worker may grow this much over the soak (caches fill, pools settle).
MEMORY_GROWTH_BOUND_MB = 60


def worker_rss_mb(server: Server) -> list[float]:
    assert server.process is not None
    pids = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout.split()
    sizes = []
    for pid in pids:
        match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        if match:
            sizes.append(int(match.group(1)) / 1024)
    return sizes


def test_a_soak_of_mixed_load(
    seeded: dict[str, Credentials],
    start_server: Callable[..., Server],
    pg_database: str,
    signing_key_file: Path,
    secrets_key_file: Path,
) -> None:
    server = start_server(workers=2, SAMHANDLING_RATE_LIMIT_PER_MINUTE="0")
    school, social = Api.login(server.url, seeded["school"]), Api.login(server.url, seeded["social"])
    children = [school.child(100 + serial) for serial in range(6)]
    consents = [school.consent(child, ["norrskolan", "socialtjansten"]) for child in children for _ in range(8)]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + SOAK_SECONDS
    concerns: list[str] = []

    def school_system() -> None:
        with school.client() as http:
            while time.monotonic() < deadline:
                choice = random.random()
                if choice < 0.4:
                    response = http.post("/api/v1/concerns", json=concern_body(random.choice(children)))
                    if response.status_code == 201:
                        with lock:
                            concerns.append(response.json()["id"])
                elif choice < 0.7:
                    response = http.get("/api/v1/concerns", params={"limit": 20})
                elif choice < 0.8 and consents:
                    with lock:
                        consent = consents.pop() if consents else None
                    if consent is None:
                        continue
                    response = http.post(
                        f"/api/v1/consents/{consent}/withdraw",
                        json={"withdrawn_by": {"role": "guardian", "name": "V"}},
                    )
                else:
                    response = http.get("/api/v1/events", params={"limit": 50})
                with lock:
                    statuses[response.status_code] += 1

    def social_services() -> None:
        with social.client() as http:
            while time.monotonic() < deadline:
                with lock:
                    target = random.choice(concerns) if concerns else None
                response = http.get(f"/api/v1/concerns/{target}") if target else http.get("/api/v1/events")
                with lock:
                    statuses[response.status_code] += 1

    threads = [threading.Thread(target=school_system) for _ in range(3)]
    threads += [threading.Thread(target=social_services) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(min(10, SOAK_SECONDS / 4))
    warmed = worker_rss_mb(server)
    for thread in threads:
        thread.join()
    final = worker_rss_mb(server)

    assert sum(statuses.values()) > SOAK_SECONDS * 20, statuses
    assert not [status for status in statuses if status >= 500], statuses
    assert set(statuses) <= {200, 201, 404}, statuses
    growth = [after - before for before, after in zip(warmed, final, strict=True)]
    assert max(growth) < MEMORY_GROWTH_BOUND_MB, f"workers grew {growth} MB (from {warmed})"
    settings = Settings(database_url=pg_database, signing_key_file=signing_key_file, secrets_key_file=secrets_key_file)
    result = run_verification(settings, KeyRing.load(signing_key_file))
    assert result.valid, result.reason
