"""A live server with one client per role, for the contract runs (schemathesis, generated client)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.ops.migrations import upgrade
from app.ops.operator import operator_transaction
from app.schemas.agency import AgencyCreate
from app.services.agencies import create_agency
from app.services.clients import create_client
from app.settings import Settings
from tests.server import Server, issue_token, server_env

ROLES = {
    # role name: (agency id, agency kind, client role)
    "school": ("norrskolan", "school", "practitioner"),
    "social": ("socialtjansten", "social_services", "practitioner"),
    "health": ("vardcentralen-nora", "health_care", "practitioner"),  # the README's SIP example
    "police": ("polisen-lindesberg", "police", "practitioner"),
    "auditor": ("kommunen", "social_services", "auditor"),
    "admin": ("kommunen", "social_services", "admin"),  # a platform admin: it registers agencies
}


@dataclass
class Credentials:
    client_id: str
    client_secret: str


@dataclass
class LiveApi:
    server: Server
    settings: Settings
    credentials: dict[str, Credentials]

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, role: str) -> str:
        credentials = self.credentials[role]
        return issue_token(self.url, credentials.client_id, credentials.client_secret, timeout=30)


def seed(settings: Settings) -> dict[str, Credentials]:
    async def run() -> dict[str, Credentials]:
        credentials: dict[str, Credentials] = {}
        async with operator_transaction(settings, "agencies add") as (session, _context):
            for agency_id, kind, _role in {(a, k, "") for a, k, _ in ROLES.values()}:
                await create_agency(session, AgencyCreate(id=agency_id, kind=kind, name=agency_id.title()))
        async with operator_transaction(settings, "clients add") as (session, _context):
            for name, (agency_id, _kind, role) in ROLES.items():
                client, _kind, secret = await create_client(
                    session, agency_id=agency_id, role=role, name=name, platform=name == "admin"
                )
                credentials[name] = Credentials(client.client_id, secret)
        return credentials

    return asyncio.run(run())


@contextmanager
def live_api(
    database_url: str, key_file: Path, secrets_file: Path, log_path: Path, workers: int = 1
) -> Iterator[LiveApi]:
    settings = Settings(database_url=database_url, signing_key_file=key_file, secrets_key_file=secrets_file)
    upgrade(settings)
    credentials = seed(settings)
    env = server_env(
        database_url,
        key_file,
        SAMHANDLING_SECRETS_KEY_FILE=str(secrets_file),
        SAMHANDLING_TOKEN_TTL="900",
        SAMHANDLING_RATE_LIMIT_PER_MINUTE="0",
        SAMHANDLING_WEBHOOK_ALLOWLIST="127.0.0.1",
        # The fuzzer tries every `wait` up to 30 s; a long poll may answer sooner, so cap it.
        SAMHANDLING_EVENTS_MAX_WAIT_SECONDS="1",
    )
    server = Server(env, workers, log_path)
    server.start()
    try:
        yield LiveApi(server, settings, credentials)
    finally:
        server.stop()


if __name__ == "__main__":  # a server to poke at by hand: python -m tests.contract.harness
    from app.events.secret_box import ensure_secrets_key
    from app.security.keys import ensure_signing_key

    base = Path(os.environ.get("HARNESS_DIR", f"/tmp/harness-{uuid.uuid4().hex[:6]}"))
    base.mkdir(parents=True, exist_ok=True)
    ensure_signing_key(base / "key.pem")
    ensure_secrets_key(base / "secrets.key")
    with live_api(
        f"sqlite:///{base / 'db.sqlite'}", base / "key.pem", base / "secrets.key", base / "server.log"
    ) as api:
        for role in ROLES:
            print(f"{role}: {api.token(role)}", flush=True)
        print(f"ready at {api.url}", flush=True)
        try:
            asyncio.run(asyncio.sleep(3600))
        except KeyboardInterrupt:
            pass
