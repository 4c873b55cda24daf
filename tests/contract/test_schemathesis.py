"""Schemathesis against a live server, with real tokens of four roles: every check, zero failures.

The run uses all of Schemathesis' checks and phases (examples, coverage, fuzzing, stateful —
following the spec's OpenAPI links from create to read) with the settings and their reasons in
tests/contract/schemathesis.toml. A fixed seed keeps CI reproducible; run it with another seed
(SCHEMATHESIS_SEED) to explore further.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.contract.harness import LiveApi, live_api

CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
ROLES = ["school", "police", "auditor", "admin"]
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261122")


@pytest.fixture(scope="module")
def api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    signing_key_file: Path,
    secrets_key_file: Path,
) -> Iterator[LiveApi]:
    """PostgreSQL (production's database) when it is reachable, else SQLite."""
    base = tmp_path_factory.mktemp("schemathesis")
    name = None
    if request.getfixturevalue("postgres_available"):
        name = f"samhandling_st_{os.getpid()}"
        url = create_postgres_database(name)
    else:
        url = f"sqlite:///{base / 'db.sqlite'}"
    try:
        with live_api(url, signing_key_file, secrets_key_file, base / "server.log", workers=2) as live:
            yield live
    finally:
        if name:
            drop_postgres_database(name)


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing(api: LiveApi, role: str, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{api.url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {api.token(role)}",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "15",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-15000:] + result.stderr[-3000:]
