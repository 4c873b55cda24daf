"""Schemathesis against a live server, with real tokens of four roles: every check, zero failures.

The run uses all of Schemathesis' checks and phases (examples, coverage, fuzzing, stateful —
following the spec's OpenAPI links from create to read) with the settings and their reasons in
tests/contract/schemathesis.toml. Each role's run covers the operations its scopes reach (the
others could only answer 403, which tests/security checks); one that still answers only 401/403
fails the run. A fixed seed keeps CI reproducible; run it with another seed
(SCHEMATHESIS_SEED) to explore further.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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


def _scopes(token: str) -> set[str]:
    """The scopes the server granted (the token's own claim; its signature is not what is tested here)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return set(claims["scope"].split())


def _out_of_reach(spec: dict[str, Any], scopes: set[str]) -> list[str]:
    """Operation ids no security requirement of which the role's scopes meet.

    Such an operation can only answer 403 to this role, which schemathesis reports as an operation
    it could never authenticate for (missing_auth, made fatal in schemathesis.toml). That refusal
    is tested where it is decided (tests/security/test_bearer_tokens.py, test_scopes.py); here the
    role's run covers what the role can do, and a reachable operation that still answers only
    401/403 fails the run.
    """
    out = []
    for methods in spec["paths"].values():
        for operation in methods.values():
            requirements = operation.get("security") if isinstance(operation, dict) else None
            if requirements and not any(
                all(set(needed) <= scopes for needed in requirement.values()) for requirement in requirements
            ):
                out.append(operation["operationId"])
    return sorted(out)


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_nothing(api: LiveApi, role: str, tmp_path: Path) -> None:
    token = api.token(role)
    spec = httpx.get(f"{api.url}/openapi.json", timeout=30).json()
    excluded = _out_of_reach(spec, _scopes(token))
    secured = _out_of_reach(spec, set())  # every operation that needs some scope
    assert len(excluded) < len(secured), "the role reaches no secured operation: its scopes are not in the spec"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{api.url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
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
        *(option for operation_id in excluded for option in ("--exclude-operation-id", operation_id)),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-15000:] + result.stderr[-3000:]
