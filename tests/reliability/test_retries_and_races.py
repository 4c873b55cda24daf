"""Retries that time out, and requests that race: exactly one effect, and no read after a withdrawal."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import httpx

from tests.contract.harness import Credentials
from tests.reliability.api import Api, concern_body
from tests.reliability.proxy import DatabaseProxy
from tests.server import Server


def test_a_client_that_times_out_and_retries_with_the_same_key_gets_one_record(
    seeded: dict[str, Credentials], start_server: Callable[..., Server], proxy: DatabaseProxy
) -> None:
    server = start_server(via=proxy)
    school = Api.login(server.url, seeded["school"])
    child = school.child(7)
    body = concern_body(child)
    key = f"retry-{uuid.uuid4()}"
    proxy.delay(0.15)  # every database round trip is slow: the client gives up before the answer
    timeouts = 0
    with school.client(timeout=0.3) as impatient:
        for _ in range(3):
            try:
                impatient.post("/api/v1/concerns", json=body, headers={"Idempotency-Key": key})
            except httpx.TimeoutException:
                timeouts += 1
    assert timeouts >= 1
    proxy.up()
    with school.client() as patient:
        final = patient.post("/api/v1/concerns", json=body, headers={"Idempotency-Key": key})
        again = patient.post("/api/v1/concerns", json=body, headers={"Idempotency-Key": key})
        listed = patient.get("/api/v1/concerns", params={"child_id": child, "limit": 200}).json()["items"]
    assert final.status_code == again.status_code == 201
    assert final.json()["id"] == again.json()["id"]
    assert [item["id"] for item in listed if item["description"] == body["description"]] == [final.json()["id"]]


def test_concurrent_status_changes_with_the_same_etag_have_one_winner(
    seeded: dict[str, Credentials], start_server: Callable[..., Server]
) -> None:
    server = start_server()
    school = Api.login(server.url, seeded["school"])
    with school.client() as http:
        concern = http.post("/api/v1/concerns", json=concern_body(school.child(8))).json()
        etag = http.get(f"/api/v1/concerns/{concern['id']}").headers["etag"]
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def change(target: str) -> None:
        with school.client() as http:
            barrier.wait()
            response = http.patch(
                f"/api/v1/concerns/{concern['id']}", json={"status": target}, headers={"If-Match": etag}
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=change, args=(target,)) for target in ["accepted", "rejected", "cancelled"] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412, 412, 412, 412, 412]
    with school.client() as http:
        history = http.get(f"/api/v1/concerns/{concern['id']}").json()["status_history"]
    assert len(history) == 2


def test_no_read_is_allowed_after_the_withdrawal_commits(
    seeded: dict[str, Credentials], start_server: Callable[..., Server]
) -> None:
    server = start_server()
    school = Api.login(server.url, seeded["school"])
    social = Api.login(server.url, seeded["social"])
    child = school.child(9)
    consent = school.consent(child, ["norrskolan", "socialtjansten"])
    with school.client() as http:
        concern = http.post("/api/v1/concerns", json=concern_body(child)).json()["id"]
    reads: list[tuple[float, float, int]] = []
    stop = threading.Event()

    def reader() -> None:
        with social.client() as http:
            while not stop.is_set():
                started = time.monotonic()
                status = http.get(f"/api/v1/concerns/{concern}").status_code
                reads.append((started, time.monotonic(), status))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    with school.client() as http:
        response = http.post(
            f"/api/v1/consents/{consent}/withdraw", json={"withdrawn_by": {"role": "guardian", "name": "V"}}
        )
        withdrawn_at = time.monotonic()
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert response.status_code == 200
    assert {status for started, _, status in reads if started > withdrawn_at} == {404}
    assert 200 in {status for _, finished, status in reads if finished < withdrawn_at}
