"""Key rotation across processes that share the key files (issue 24): reload on change, the new key
published before it signs, tokens of a rotated host accepted everywhere, cursors kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from app.main import create_app
from app.security.keys import KeyRing, rotate_signing_key
from app.security.tokens import TokenService
from app.settings import Settings
from tests.support import Domain, World


@pytest.fixture
def key_file(signing_key_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "signing-key.pem"
    path.write_bytes(signing_key_file.read_bytes())
    path.chmod(0o600)
    return path


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_a_rotated_key_is_published_at_once_and_signs_only_after_the_delay(key_file: Path) -> None:
    now = [1_000_000.0]
    tokens = TokenService(
        key_file, issuer="i", audience="a", ttl_seconds=300, reload_interval=0, publish_delay=300, clock=lambda: now[0]
    )
    first = tokens.keys.current.kid
    rotate_signing_key(key_file)
    ring = KeyRing.load(key_file)
    now[0] = ring.current_since + 10  # within the delay
    assert [key["kid"] for key in tokens.keys.jwks()["keys"]] == [ring.current.kid, first]  # reloaded, published
    issued = tokens.issue(client_id="c", agency_id="a", role="practitioner", scopes="concerns:read")
    assert _kid(issued.access_token) == first  # the previous key still signs
    now[0] = ring.current_since + 301
    later = tokens.issue(client_id="c", agency_id="a", role="practitioner", scopes="concerns:read")
    assert _kid(later.access_token) == ring.current.kid
    assert tokens.verify(issued.access_token).client_id == "c"  # both verify
    assert tokens.verify(later.access_token).client_id == "c"


def test_a_token_from_a_host_that_has_seen_the_rotation_is_accepted_by_one_that_has_not(
    settings: Settings, key_file: Path
) -> None:
    shared = settings.model_copy(update={"signing_key_file": key_file, "key_publish_delay_seconds": 0})
    # Host A looks at the files on every use; host B would not look again for an hour.
    host_a = shared.model_copy(update={"key_reload_interval_seconds": 0})
    host_b = shared.model_copy(update={"key_reload_interval_seconds": 3600})
    with TestClient(create_app(host_a)) as a, TestClient(create_app(host_b)) as b:
        world_a, world_b = World(host_a, a), World(host_b, b)
        agency = world_a.agency("school")
        old_kid = KeyRing.load(key_file).current.kid
        assert b.get("/.well-known/jwks.json").json()["keys"][0]["kid"] == old_kid  # B has loaded its ring

        rotate_signing_key(key_file)
        token = world_a.token(world_a.client(agency, "practitioner"))
        assert _kid(token) != old_kid  # A signs with the new key
        answer = b.get("/api/v1/concerns", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text  # B looked again on the unknown kid
        assert _kid(token) in [key["kid"] for key in b.get("/.well-known/jwks.json").json()["keys"]]
        assert world_b.token(world_b.client(agency, "practitioner"))  # and B signs with it too


def test_a_saved_cursor_resumes_after_a_rotation_not_after_two(settings: Settings, key_file: Path) -> None:
    settings = settings.model_copy(
        update={"signing_key_file": key_file, "key_reload_interval_seconds": 0, "key_publish_delay_seconds": 0}
    )
    with TestClient(create_app(settings)) as client:
        world = World(settings, client)
        domain = Domain(world)
        school = world.agency("school")
        child = domain.child(school)
        for _ in range(3):
            domain.concern(school, child)
        headers = world.headers(school)
        first = client.get("/api/v1/concerns", params={"limit": 1}, headers=headers).json()
        cursor = first["next_cursor"]

        rotate_signing_key(key_file)
        headers = {"Authorization": f"Bearer {world.token(world.client(school, 'practitioner'))}"}
        resumed = client.get("/api/v1/concerns", params={"limit": 1, "cursor": cursor}, headers=headers)
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["items"][0]["id"] != first["items"][0]["id"]

        rotate_signing_key(key_file)  # the key the cursor was signed under is retired now
        headers = {"Authorization": f"Bearer {world.token(world.client(school, 'practitioner'))}"}
        stale = client.get("/api/v1/concerns", params={"limit": 1, "cursor": cursor}, headers=headers)
        assert stale.status_code == 422


def test_keys_rotate_refuses_to_retire_a_key_whose_tokens_may_still_be_valid(key_file: Path) -> None:
    env = {**os.environ, "SAMHANDLING_SIGNING_KEY_FILE": str(key_file), "SAMHANDLING_KEY_PUBLISH_DELAY_SECONDS": "0"}

    def rotate(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "app", "keys", "rotate", *extra]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert rotate().returncode == 0  # no previous key yet: nothing to retire
    refused = rotate()
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert rotate("--force").returncode == 0
