"""The README's integrator guide, run word for word against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.harness import LiveApi, live_api

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough(name: str = "walkthrough") -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {name}:start -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", text, re.S)
    assert block, f"README.md lost its {name} block"
    return block.group(1)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, signing_key_file: Path, secrets_key_file: Path) -> Iterator[LiveApi]:
    base = tmp_path_factory.mktemp("readme")
    with live_api(f"sqlite:///{base / 'db.sqlite'}", signing_key_file, secrets_key_file, base / "server.log") as live:
        yield live


def test_the_readme_walkthrough_runs_as_written(api: LiveApi) -> None:
    result = run(api, walkthrough())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "social services, before consent: 404",
        "social services, consent it recorded itself: 404",
        "confirmed by: norrskolan, socialtjansten",
        "social services, after the school confirmed: 200",
        "consent: withdrawn",
        "social services, after withdrawal: 404",
    ]


def test_the_readme_sip_example_runs_as_written(api: LiveApi) -> None:
    result = run(api, walkthrough("sip-example"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "before the others confirmed: 422 sip-consent-missing",
        "actions: norrskolan planned, vardcentralen-nora in_progress, socialtjansten planned",
        "plan: sip by norrskolan, 2 goals, 1 review, next review 2029-06-01T07:00:00Z",
    ]


def run(api: LiveApi, script: str) -> subprocess.CompletedProcess[str]:
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing and os.environ.get("CI", "").lower() != "true":
        pytest.skip(f"needs {', '.join(missing)}")
    env = {**os.environ, "BASE": api.url}
    for role in ("school", "social", "health"):
        env[f"{role.upper()}_CLIENT_ID"] = api.credentials[role].client_id
        env[f"{role.upper()}_CLIENT_SECRET"] = api.credentials[role].client_secret
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
