"""A real `samhandling serve`: idle, half-open and slow connections are closed, not kept for good."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.server import Server, running_server

BOUND_SECONDS = 20.0  # generous: the server is told 1 s; this only bounds a failing test


@pytest.fixture
def server(dialect: str, request: pytest.FixtureRequest, signing_key_file: Path, tmp_path: Path) -> Iterator[Server]:
    if dialect != "sqlite":
        pytest.skip("the HTTP layer is the same on both dialects")
    with running_server(
        request.getfixturevalue("database_url"),
        signing_key_file,
        tmp_path / "server.log",
        workers=1,
        SAMHANDLING_HTTP_HEADER_TIMEOUT_SECONDS="1",
        SAMHANDLING_HTTP_KEEP_ALIVE_SECONDS="1",
    ) as running:
        yield running


def closed_by_server(connection: socket.socket, between_reads: Callable[[], None] = lambda: None) -> bool:
    """Whether the server closes the connection within the bound (calling `between_reads` meanwhile)."""
    connection.settimeout(0.25)
    deadline = time.monotonic() + BOUND_SECONDS
    while time.monotonic() < deadline:
        try:
            if connection.recv(65536) == b"":
                return True
        except TimeoutError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return True
        try:
            between_reads()
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def test_a_connection_that_never_sends_a_byte_is_closed(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        assert closed_by_server(connection)


def test_headers_sent_a_byte_at_a_time_are_cut_off(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        assert closed_by_server(connection, lambda: connection.sendall(b"X-Slow: still-coming\r\n"))


def test_an_idle_keep_alive_connection_is_closed_after_its_response(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        connection.settimeout(10)
        assert connection.recv(65536).startswith(b"HTTP/1.1 200")
        assert closed_by_server(connection)


def test_request_headers_beyond_64_kib_are_refused(server: Server) -> None:
    padding = b"".join(f"X-Padding-{index}: {'p' * 1000}\r\n".encode() for index in range(80))
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        try:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + padding + b"\r\n")
            connection.settimeout(10)
            answer = connection.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            answer = b""  # closed on us while sending: refused too
        assert not answer.startswith(b"HTTP/1.1 200")
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400")


def test_the_longest_url_the_spec_allows_still_reaches_the_api(server: Server) -> None:
    cursor = quote("\U0001d11e" * 2000)  # a 2 000-character cursor of 4-byte characters: 24 KiB
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(f"GET /api/v1/concerns?cursor={cursor} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        connection.settimeout(10)
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401")  # the API's answer (no token), not the server's 400
