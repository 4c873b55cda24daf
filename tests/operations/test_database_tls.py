"""TLS to PostgreSQL: not attempted on a hop that never leaves the host, unless the URL asks."""

from __future__ import annotations

import pytest

from app.db import _tls_connect_args, async_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:5432/test", {"ssl": False}),
        ("postgresql://postgres@localhost/test", {"ssl": False}),
        ("postgresql://postgres@[::1]:5432/test", {"ssl": False}),
        ("postgresql://postgres@/test?host=/var/run/postgresql", {"ssl": False}),
        ("postgresql://postgres@db.kommun.example/test", {}),  # a remote host: the driver's default
        ("postgresql://postgres@10.0.0.7/test", {}),
        ("postgresql://postgres@127.0.0.1/test?ssl=require", {}),  # asked for: the URL decides
        ("postgresql://postgres@127.0.0.1/test?sslmode=verify-full", {}),
    ],
)
def test_tls_is_left_to_the_url_and_skipped_on_loopback(url: str, expected: dict[str, object]) -> None:
    assert _tls_connect_args(async_url(url)) == expected
