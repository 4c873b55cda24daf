"""A real webhook receiver on 127.0.0.1 and real `samhandling worker` processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """Records every request; fails the first `fail_first` of them; may answer slowly."""

    url: str = ""
    fail_first: int = 0
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    answered: int = 0
    arrived: int = 0  # requests read in full, answered or not yet
    lock: threading.Lock = field(default_factory=threading.Lock)

    def successes(self) -> list[Received]:
        with self.lock:
            return [item for item in self.received if item.headers.get("x-answered") == "2xx"]

    def wait_for(self, condition: Callable[[Receiver], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self):
                return
            time.sleep(0.05)
        raise AssertionError(f"the receiver did not get what was expected in {timeout}s: {len(self.received)} requests")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request (a killed worker): nothing arrived
                self.close_connection = True
                return
            with state.lock:
                state.arrived += 1
            if state.delay:
                time.sleep(state.delay)
            with state.lock:
                state.answered += 1
                ok = state.answered > state.fail_first
                headers = {name.lower(): value for name, value in self.headers.items()}
                headers["x-answered"] = "2xx" if ok else "5xx"
                state.received.append(Received(headers, body))
            self.send_response(204 if ok else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class HangingReceiver:
    """Accepts connections, reads what is sent, and never answers."""

    url: str = ""
    connections: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accepted(self) -> int:
        with self.lock:
            return len(self.connections)

    def wait_for_connections(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.accepted < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.accepted} connections to the hanging receiver in {timeout}s")
            time.sleep(0.05)


@pytest.fixture
def hanging_receiver() -> Iterator[HangingReceiver]:
    state = HangingReceiver()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    state.url = f"http://127.0.0.1:{listener.getsockname()[1]}/never-answers"
    stopped = threading.Event()

    def accept() -> None:
        while not stopped.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with state.lock:
                state.connections.append(connection)  # kept open, read by nobody, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield state
    stopped.set()
    thread.join(timeout=5)
    listener.close()
    with state.lock:
        for connection in state.connections:
            connection.close()


class WorkerProcess:
    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "SAMHANDLING_SIGNING_KEY_FILE": str(settings.signing_key_file),
            "SAMHANDLING_SECRETS_KEY_FILE": str(settings.secrets_key_file),
            "SAMHANDLING_WEBHOOK_ALLOWLIST": "127.0.0.1",
            "SAMHANDLING_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
            "SAMHANDLING_WORKER_POLL_SECONDS": "0.05",
            "SAMHANDLING_WEBHOOK_TIMEOUT_SECONDS": "2",
            "SAMHANDLING_LOG_LEVEL": "INFO",
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode if self.process else None


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"worker-{len(started)}.log").start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
