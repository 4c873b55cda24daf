"""kill -9 the server mid-load: every acknowledged write is there, nothing is half-there."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from app.audit.verify import run_verification
from app.security.keys import KeyRing
from app.settings import Settings
from tests.contract.harness import Credentials
from tests.reliability.api import Api, concern_body
from tests.server import Server
from tests.support import World


def test_a_crash_loses_nothing_acknowledged_and_leaves_nothing_half_done(
    seeded: dict[str, Credentials],
    start_server: Callable[..., Server],
    pg_database: str,
    signing_key_file: Path,
    secrets_key_file: Path,
) -> None:
    server = start_server()
    school = Api.login(server.url, seeded["school"])
    children = [school.child(serial) for serial in range(4)]
    consents = [school.consent(children[index % 4], ["norrskolan", "socialtjansten"]) for index in range(40)]

    acknowledged_concerns: list[str] = []
    acknowledged_withdrawals: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with school.client(timeout=5) as http:
            for index in range(10_000):
                if stop.is_set():
                    return
                try:
                    if index % 4 == 3 and consents:
                        with lock:
                            consent = consents.pop() if consents else None
                        if consent is None:
                            continue
                        response = http.post(
                            f"/api/v1/consents/{consent}/withdraw",
                            json={"withdrawn_by": {"role": "guardian", "name": "V"}},
                        )
                        if response.status_code == 200:
                            with lock:
                                acknowledged_withdrawals.append(consent)
                    else:
                        response = http.post("/api/v1/concerns", json=concern_body(children[worker % 4]))
                        if response.status_code == 201:
                            with lock:
                                acknowledged_concerns.append(response.json()["id"])
                except httpx.HTTPError:
                    return  # the server died under us: this request was never acknowledged

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(2.5)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert acknowledged_concerns, "the load produced no acknowledged writes before the crash"

    restarted = start_server()  # the service comes back by itself on the same database
    assert httpx.get(f"{restarted.url}/readyz", timeout=10).status_code == 200
    settings = Settings(database_url=pg_database, signing_key_file=signing_key_file, secrets_key_file=secrets_key_file)
    world = World(settings, None)  # type: ignore[arg-type]

    stored = {str(row.id) for row in world.sql("SELECT id FROM concerns")}
    assert set(acknowledged_concerns) <= stored  # nothing acknowledged is lost
    logged = {
        row.resource_id
        for row in world.sql(
            "SELECT resource_id FROM access_log WHERE action = 'concerns-create' AND outcome = 'allowed'"
        )
    }
    assert logged == stored  # each write has its entry, and each entry its write
    announced = {
        str(row.record_id) for row in world.sql("SELECT record_id FROM events WHERE type = 'concern.received'")
    }
    assert announced == stored  # and its event

    withdrawn = {str(row.consent_id) for row in world.sql("SELECT consent_id FROM consent_withdrawals")}
    assert set(acknowledged_withdrawals) <= withdrawn
    withdrawal_entries = {
        row.resource_id
        for row in world.sql(
            "SELECT resource_id FROM access_log WHERE action = 'consents-withdraw' AND outcome = 'allowed'"
        )
    }
    assert withdrawal_entries == withdrawn

    result = run_verification(settings, KeyRing.load(signing_key_file))
    assert result.valid, result.reason
