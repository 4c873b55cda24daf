"""Fixtures shared by the access-log tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.settings import Settings, get_settings


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`samhandling` called in this process (app.cli.main), against the test's database and key."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAMHANDLING_SIGNING_KEY_FILE", str(settings.signing_key_file))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
