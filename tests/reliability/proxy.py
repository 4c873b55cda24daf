"""A TCP proxy between the service and PostgreSQL, to cut, blackhole or slow the database link.

Tests point DATABASE_URL at the proxy. `down()` closes every connection and refuses new ones
(the database is gone); `blackhole()` accepts and never answers (a network that swallows
packets); `delay(seconds)` holds every chunk that long; `up()` restores the link. The real
server is never touched, so other tests running beside these are not disturbed.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress


class DatabaseProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.mode = "up"
        self.latency = 0.0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self._open_listener()

    # -- controls --------------------------------------------------------------------------
    def up(self) -> None:
        self.mode, self.latency = "up", 0.0
        if self._listener is None:
            self._open_listener()

    def down(self) -> None:
        """Refuse new connections and drop the open ones, as a stopped server does."""
        self.mode = "down"
        if self._listener is not None:
            listener, self._listener = self._listener, None
            with suppress(OSError):
                listener.close()
        self._drop_all()

    def blackhole(self) -> None:
        """Accept, but never pass anything on, in either direction."""
        self.mode = "blackhole"

    def delay(self, seconds: float) -> None:
        self.mode, self.latency = "up", seconds

    def close(self) -> None:
        self.down()

    # -- plumbing --------------------------------------------------------------------------
    def _open_listener(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.mode == "blackhole":
                self._track(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._track(client)
            self._track(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while self.mode == "blackhole":
                    time.sleep(0.05)
                if self.latency:
                    time.sleep(self.latency)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.close()

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._sockets.add(connection)

    def _drop_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for connection in sockets:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                connection.close()
