"""Stopping a worker mid-batch: it leaves promptly, what it delivered is marked, the rest waits."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.ops import worker as worker_module
from app.ops.worker import run_worker
from app.settings import Settings
from tests.events.conftest import Receiver
from tests.events.test_webhooks import subscribe
from tests.support import Domain, World


class ThreadWorker:
    """`run_worker` on a thread of the test process: the same loop as `samhandling worker`
    (whose SIGTERM handler only sets the stop signal) without starting an interpreter, which
    costs seconds per worker on a loaded machine."""

    def __init__(self, settings: Settings) -> None:
        self.stop_signal = asyncio.Event()
        self.loop = asyncio.new_event_loop()
        work = run_worker(settings, self.stop_signal)
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(work,), daemon=True)
        self.thread.start()

    def stop(self) -> bool:
        """What SIGTERM does (the handler sets the stop signal); True once the worker has returned."""
        self.loop.call_soon_threadsafe(self.stop_signal.set)
        self.thread.join(timeout=15)
        if self.thread.is_alive():
            return False
        self.loop.close()
        return True


@pytest.fixture
def thread_workers(settings: Settings) -> Iterator[Callable[..., ThreadWorker]]:
    started: list[ThreadWorker] = []
    quick = {"webhook_retry_base_seconds": 0.05, "worker_poll_seconds": 0.05, "webhook_timeout_seconds": 2.0}

    def start(**changes: object) -> ThreadWorker:
        worker = ThreadWorker(settings.model_copy(update={**quick, **changes}))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.thread.is_alive():
            worker.stop()


def delivered_ids(world: World) -> list[str]:
    rows = world.sql("SELECT event_id, outcome FROM deliveries ORDER BY attempted_at")
    assert {row.outcome for row in rows} <= {"delivered"}  # a stop is never recorded as a failure
    return [str(uuid.UUID(str(row.event_id))) for row in rows]


def lease_is_free(world: World) -> bool:
    (row,) = world.sql("SELECT lease_owner, failures FROM subscriptions")
    return row.lease_owner is None and row.failures == 0


def test_a_stop_mid_batch_marks_what_was_delivered_and_leaves_the_rest_pending(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    thread_workers: Callable[..., ThreadWorker],
) -> None:
    school = world.agency("school")
    subscribe(client, world, school, receiver.url, ["concern.received"])
    child = domain.child(school)
    concerns = [domain.concern(school, child)["id"] for _ in range(6)]
    receiver.delay = 0.3  # a slow receiver: the whole batch would take about 2 s
    first = thread_workers()
    receiver.wait_for(lambda r: len(r.received) >= 2)
    assert first.stop()

    answered = [item.event["record_id"] for item in receiver.successes()]
    assert answered == concerns[: len(answered)]
    assert len(answered) < len(concerns)  # it did not carry on with its batch
    # The attempt in flight at the stop was answered within the grace: marked like the others.
    assert delivered_ids(world) == [item.headers["webhook-id"] for item in receiver.successes()]
    assert lease_is_free(world)  # given back: the next worker need not wait for it to expire

    receiver.delay = 0.0
    thread_workers()
    receiver.wait_for(lambda r: len(r.successes()) == len(concerns))
    assert [item.event["record_id"] for item in receiver.successes()] == concerns  # each once, in order


def test_an_attempt_unanswered_after_the_grace_is_abandoned_unmarked_and_sent_again(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    thread_workers: Callable[..., ThreadWorker],
) -> None:
    school = world.agency("school")
    subscribe(client, world, school, receiver.url, ["concern.received"])
    child = domain.child(school)
    concerns = [domain.concern(school, child)["id"] for _ in range(3)]
    receiver.delay = 1.5  # answers after the grace, well within the delivery timeout
    first = thread_workers(webhook_timeout_seconds=10.0, worker_shutdown_grace_seconds=0.2)
    receiver.wait_for(lambda r: r.arrived >= 1)  # the first delivery is in flight
    assert first.stop()

    assert delivered_ids(world) == []  # abandoned: neither delivered nor failed
    assert lease_is_free(world)

    receiver.delay = 0.0
    thread_workers()
    receiver.wait_for(lambda _: len(delivered_ids(world)) == len(concerns))
    order = list(dict.fromkeys(item.event["record_id"] for item in receiver.successes()))
    assert order == concerns  # the abandoned one included, first, with its webhook-id


def test_a_long_maintenance_pass_does_not_hold_the_shutdown_past_the_grace(
    thread_workers: Callable[..., ThreadWorker], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = threading.Event()

    async def catching_up(*_: object) -> None:  # e.g. the sequencer chaining a long backlog
        running.set()
        await asyncio.sleep(60)

    monkeypatch.setattr(worker_module, "maintain", catching_up)
    worker = thread_workers(worker_shutdown_grace_seconds=0.2)
    assert running.wait(timeout=10)
    assert worker.stop()  # returned: the pass was cut short after the grace, not waited for
