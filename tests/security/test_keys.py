"""The signing key: created 0600 by migrate, published without private parts, rotated safely."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from app.audit.verify import run_verification
from app.main import create_app
from app.security.keys import (
    KeyRing,
    ensure_signing_key,
    previous_key_path,
    retired_keys_path,
    rotate_signing_key,
)
from app.settings import Settings
from tests.support import World

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


def test_migrate_creates_the_key_with_owner_only_permissions(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SAMHANDLING_SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing-key.pem"),
        "SAMHANDLING_SECRETS_KEY_FILE": str(tmp_path / "keys" / "secrets.key"),
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True)
    key_file = tmp_path / "keys" / "signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys" / "secrets.key").stat().st_mode) == 0o600
    first = key_file.read_bytes()
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True)
    assert key_file.read_bytes() == first  # never replaced once it exists


def test_jwks_publishes_public_parts_only(client: TestClient) -> None:
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS256"
    assert keys[0]["use"] == "sig"
    assert not PRIVATE_MEMBERS & set(keys[0])


def test_metadata_describes_the_token_endpoint(client: TestClient) -> None:
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == "http://localhost:8000"
    assert metadata["token_endpoint"] == "http://localhost:8000/oauth/token"
    assert metadata["jwks_uri"] == "http://localhost:8000/.well-known/jwks.json"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert "concerns:read" in metadata["scopes_supported"]


def test_kid_is_the_rfc7638_thumbprint(client: TestClient) -> None:
    key = client.get("/.well-known/jwks.json").json()["keys"][0]
    required = json.dumps({"e": key["e"], "kty": key["kty"], "n": key["n"]}, sort_keys=True, separators=(",", ":"))
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(required.encode()).digest()).rstrip(b"=").decode()
    assert key["kid"] == thumbprint


def test_rotation_keeps_tokens_of_the_previous_key_valid(
    settings: Settings, signing_key_file: Path, tmp_path: Path
) -> None:
    key_file = tmp_path / "signing-key.pem"
    key_file.write_bytes(signing_key_file.read_bytes())
    key_file.chmod(0o600)
    # Signing with the new key at once (the publish delay is tests/security/test_key_rotation.py's).
    settings = settings.model_copy(update={"signing_key_file": key_file, "key_publish_delay_seconds": 0})
    with TestClient(create_app(settings)) as before:
        world = World(settings, before)
        old_headers = world.admin()
        old_kid = KeyRing.load(key_file).current.kid

    rotate_signing_key(key_file)
    with TestClient(create_app(settings)) as after:
        kids = [key["kid"] for key in after.get("/.well-known/jwks.json").json()["keys"]]
        assert kids[1] == old_kid
        assert kids[0] != old_kid
        assert after.get("/api/v1/agencies", headers=old_headers).status_code == 200
        new_token = World(settings, after).token(World(settings, after).client("operations", "admin"))
        from jose import jwt

        assert jwt.get_unverified_header(new_token)["kid"] == kids[0]

    rotate_signing_key(key_file)  # a second rotation drops the oldest key
    with TestClient(create_app(settings)) as latest:
        assert old_kid not in [key["kid"] for key in latest.get("/.well-known/jwks.json").json()["keys"]]
        assert latest.get("/api/v1/agencies", headers=old_headers).status_code == 401


def test_ensure_signing_key_can_make_an_es256_key(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    assert ensure_signing_key(path, "ES256")
    assert KeyRing.load(path).algorithm == "ES256"
    assert KeyRing.load(path).jwks()["keys"][0]["crv"] == "P-256"


def test_retired_keys_still_verify_checkpoints_but_never_tokens(
    settings: Settings, signing_key_file: Path, tmp_path: Path, world: World
) -> None:
    key_file = tmp_path / "signing-key.pem"
    key_file.write_bytes(signing_key_file.read_bytes())
    key_file.chmod(0o600)
    settings = settings.model_copy(update={"signing_key_file": key_file})
    with TestClient(create_app(settings)) as before:
        old_headers = World(settings, before).admin()
    first = KeyRing.load(key_file)
    assert run_verification(settings, first).checkpoint is not None  # signed by the first key
    rotate_signing_key(key_file)
    rotate_signing_key(key_file)  # the first key is retired now: no PEM left, its public part kept
    assert signing_key_file.read_bytes() not in {key_file.read_bytes(), previous_key_path(key_file).read_bytes()}
    retired_file = retired_keys_path(key_file)
    assert stat.S_IMODE(retired_file.stat().st_mode) == 0o644
    retired = json.loads(retired_file.read_text())["keys"]
    assert [key["kid"] for key in retired] == [first.current.kid]
    assert not PRIVATE_MEMBERS & set(retired[0])

    ring = KeyRing.load(key_file)
    result = run_verification(settings, ring)
    assert result.valid, result.reason
    assert result.checkpoints_verified >= 1
    with TestClient(create_app(settings)) as after:
        kids = [key["kid"] for key in after.get("/.well-known/jwks.json").json()["keys"]]
        assert first.current.kid not in kids
        assert after.get("/api/v1/agencies", headers=old_headers).status_code == 401
