"""Whether this process has lately been able to commit access-log entries (for `/readyz`).

A full disk or WAL volume leaves the database answering reads — readiness's `SELECT` works —
while every commit fails, so every audited request gets 503 and a load balancer that trusts a
200 from `/readyz` keeps sending traffic to a process that can answer nothing. The pipeline's
write transactions and the group committer report each commit of log entries here; readiness is
503 while the last one failed within the window and none has succeeded since.

The window is what lets an instance back in: once out of rotation it gets no requests, so it
could never see a commit succeed. After the window without a new failure it reports ready again,
and the first request it is sent either succeeds (ready) or fails (out again for a window).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class LogWriteHealth:
    window_seconds: float
    clock: Callable[[], float] = time.monotonic
    last_failure: float | None = None
    last_success: float | None = None
    failures_since_success: int = 0

    def succeeded(self) -> None:
        self.last_success = self.clock()
        self.failures_since_success = 0

    def failed(self) -> None:
        self.last_failure = self.clock()
        self.failures_since_success += 1

    def problem(self) -> str | None:
        """Why log writes look broken now, or None when they do not."""
        if self.last_failure is None or self.window_seconds <= 0:
            return None
        if self.last_success is not None and self.last_success >= self.last_failure:
            return None
        age = self.clock() - self.last_failure
        if age > self.window_seconds:
            return None
        return (
            f"{self.failures_since_success} commit(s) of access-log entries failed, the last {age:.1f} s ago, "
            "and none has succeeded since (a full disk?)."
        )
