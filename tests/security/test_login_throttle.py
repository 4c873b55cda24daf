"""The token endpoint's limiter: it stops guessing without locking the real system out."""

from __future__ import annotations

import asyncio
import threading

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.security.secrets import verify_secret
from app.services import clients as client_service
from app.settings import Settings
from tests.support import Credentials, Domain, World, from_address

SERVER = "192.0.2.10"  # the agency's own system
GUESSER = "198.51.100.66"  # someone who learnt its client id


@pytest.fixture
def school(world: World) -> Credentials:
    return world.client(world.agency("school"))


def token(client: TestClient, client_id: str, secret: str) -> httpx2.Response:
    return client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


def test_another_agency_never_learns_a_client_id_from_a_concern(
    client: TestClient, world: World, domain: Domain
) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    concern = domain.concern(school, domain.child(school), report_to_agency_id=social)
    etag = client.get(f"/api/v1/concerns/{concern['id']}", headers=world.headers(social)).headers["etag"]
    client.patch(
        f"/api/v1/concerns/{concern['id']}",
        json={"status": "accepted"},
        headers={**world.headers(social), "If-Match": etag},
    )
    seen = client.get(f"/api/v1/concerns/{concern['id']}", headers=world.headers(social)).text
    for credentials in (world.client(school), world.client(social)):
        assert credentials.client_id not in seen
    assert "client_id" not in seen
    listed = client.get("/api/v1/concerns", headers=world.headers(social)).text
    assert world.client(school).client_id not in listed


def test_a_guesser_elsewhere_cannot_lock_the_real_system_out(client: TestClient, school: Credentials) -> None:
    with from_address(client, GUESSER):
        for _ in range(10):
            assert token(client, school.client_id, "wrong").status_code == 401
        locked = token(client, school.client_id, school.client_secret)
        assert locked.status_code == 429  # from where the guessing came, even the right secret waits
        assert 1 <= int(locked.headers["retry-after"]) <= 60
    with from_address(client, SERVER):
        assert token(client, school.client_id, school.client_secret).status_code == 200


def test_guessing_spread_over_many_addresses_is_stopped_per_client(settings: Settings, world: World) -> None:
    school = world.client(world.agency("school"))
    limited = settings.model_copy(update={"auth_failures_per_client_per_minute": 20})
    with TestClient(create_app(limited)) as client:
        for address in ("198.51.100.1", "198.51.100.2"):
            with from_address(client, address):
                for _ in range(10):
                    assert token(client, school.client_id, "wrong").status_code == 401
        with from_address(client, SERVER):
            refused = token(client, school.client_id, school.client_secret)
            assert refused.status_code == 429
            assert "this client" in refused.json()["detail"]
            other = world.client(world.agency("school"))
            assert token(client, other.client_id, other.client_secret).status_code == 200


def test_the_right_secret_never_counts_as_a_failure(client: TestClient, world: World, school: Credentials) -> None:
    with from_address(client, SERVER):
        for _ in range(12):
            assert token(client, school.client_id, school.client_secret).status_code == 200
    assert world.sql("SELECT count(*) FROM auth_attempts")[0][0] == 0


def test_concurrent_wrong_secrets_are_counted_before_any_secret_is_checked(
    settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 wrong secrets at once, through two API processes' worth of state: only 10 reach argon2."""
    school = world.client(world.agency("school"))
    checked = 0
    lock = threading.Lock()
    verify = verify_secret

    def counting_verify(secret_hash: str | None, presented: str) -> bool:
        nonlocal checked
        with lock:
            checked += 1
        return verify(secret_hash, presented)

    monkeypatch.setattr(client_service, "verify_secret", counting_verify)
    small_pools = settings.model_copy(update={"db_pool_size": 5, "db_max_overflow": 5})
    apps = [create_app(small_pools), create_app(small_pools)]

    async def guess_all() -> list[int]:
        sessions = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(GUESSER, 4000)), base_url="http://t")
            for app in apps
        ]
        try:
            responses = await asyncio.gather(
                *(
                    sessions[index % 2].post(
                        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(school.client_id, "wrong")
                    )
                    for index in range(40)
                )
            )
        finally:
            for session in sessions:
                await session.aclose()
            for app in apps:
                await app.state.committer.close()
                await app.state.sequencer.close()
                await app.state.database.dispose()
        return sorted(response.status_code for response in responses)

    statuses = asyncio.run(guess_all())
    assert statuses == [401] * 10 + [429] * 30
    assert checked == 10
