"""A client generated from the committed spec (openapi-python-client) runs the integrator walkthrough.

token → register child → raise concern → record consent → read as social services → withdraw → 404
"""

from __future__ import annotations

import base64
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.contract.harness import LiveApi, live_api
from tests.support import in_days

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "openapi.json"
CONFIG = Path(__file__).with_name("openapi-python-client.yaml")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    out = tmp_path_factory.mktemp("generated") / "samhandling_client"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(SPEC),
            "--output-path",
            str(out),
            "--meta",
            "none",
            "--config",
            str(CONFIG),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    sys.path.insert(0, str(out.parent))
    try:
        import importlib

        yield importlib.import_module("samhandling_client")
    finally:
        sys.path.remove(str(out.parent))
        for name in [module for module in sys.modules if module.split(".")[0] == "samhandling_client"]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, signing_key_file: Path, secrets_key_file: Path) -> Iterator[LiveApi]:
    base = tmp_path_factory.mktemp("walkthrough")
    with live_api(f"sqlite:///{base / 'db.sqlite'}", signing_key_file, secrets_key_file, base / "server.log") as live:
        yield live


def test_the_generated_client_gets_tokens_by_both_client_authentication_methods(generated: Any, api: LiveApi) -> None:
    from importlib import import_module

    package = generated.__name__
    models = import_module(f"{package}.models")
    oauth_token = import_module(f"{package}.api.oauth.oauth_token")
    credentials = api.credentials["school"]
    grant = models.OauthTokenBodyGrantType.CLIENT_CREDENTIALS
    plain = generated.Client(base_url=api.url)

    posted = oauth_token.sync(
        client=plain,
        body=models.OauthTokenBody(
            grant_type=grant, client_id=credentials.client_id, client_secret=credentials.client_secret
        ),
    )
    assert isinstance(posted, models.TokenResponse), posted  # client_secret_post

    basic = base64.b64encode(f"{credentials.client_id}:{credentials.client_secret}".encode()).decode()
    with_header = generated.Client(base_url=api.url, headers={"Authorization": f"Basic {basic}"})
    answered = oauth_token.sync(client=with_header, body=models.OauthTokenBody(grant_type=grant))
    assert isinstance(answered, models.TokenResponse), answered  # client_secret_basic

    assert oauth_token.sync_detailed(client=plain, body=models.OauthTokenBody(grant_type=grant)).status_code == 401


def test_the_integrator_walkthrough_with_a_generated_client(generated: Any, api: LiveApi) -> None:
    from importlib import import_module

    package = generated.__name__
    models = import_module(f"{package}.models")
    oauth_token = import_module(f"{package}.api.oauth.oauth_token")
    register_child = import_module(f"{package}.api.children.children_register")
    raise_concern = import_module(f"{package}.api.concerns.concerns_create")
    get_concern = import_module(f"{package}.api.concerns.concerns_get")
    record_consent = import_module(f"{package}.api.consents.consents_create")
    withdraw = import_module(f"{package}.api.consents.consents_withdraw")

    def token(role: str) -> str:
        credentials = api.credentials[role]
        # The token endpoint needs no authenticated client object: client_secret_basic by httpx's
        # own Basic auth on a plain Client (client_secret_post: the next test).
        client = generated.Client(
            base_url=api.url, httpx_args={"auth": (credentials.client_id, credentials.client_secret)}
        )
        body = models.OauthTokenBody(grant_type=models.OauthTokenBodyGrantType.CLIENT_CREDENTIALS)
        response = oauth_token.sync(client=client, body=body)
        assert isinstance(response, models.TokenResponse), response
        return str(response.access_token)

    school = generated.AuthenticatedClient(base_url=api.url, token=token("school"))
    social = generated.AuthenticatedClient(base_url=api.url, token=token("social"))

    child = register_child.sync(client=school, body=models.ChildRegister(personnummer="20150612-2389"))
    assert isinstance(child, models.ChildPublic)

    concern = raise_concern.sync(
        client=school,
        body=models.ConcernCreate(
            child_id=child.id,
            areas=[models.Area.SAFE, models.Area.NURTURED],
            description="Kommer till skolan utan frukost.",
            urgency=models.Urgency.URGENT,
        ),
        idempotency_key=f"walkthrough-{uuid.uuid4()}",
    )
    assert isinstance(concern, models.ConcernPublic)
    assert get_concern.sync_detailed(concern_id=concern.id, client=social).status_code == 404

    consent = record_consent.sync(
        client=school,
        body=models.ConsentCreate(
            child_id=child.id,
            granted_by=[models.Grantor(role=models.GrantorRole.GUARDIAN, name="Anna Andersson")],
            agency_ids=["norrskolan", "socialtjansten"],
            record_types=[models.RecordType.CONCERNS],
            purpose="Samordnat stöd.",
            valid_until=datetime.fromisoformat(in_days(90)),
        ),
    )
    assert isinstance(consent, models.ConsentPublic)
    assert consent.status == models.ConsentStatus.ACTIVE

    seen = get_concern.sync(concern_id=concern.id, client=social)
    assert isinstance(seen, models.ConcernPublic)
    assert seen.description == "Kommer till skolan utan frukost."

    withdrawn = withdraw.sync(
        consent_id=consent.id,
        client=social,
        body=models.ConsentWithdraw(
            withdrawn_by=models.Grantor(role=models.GrantorRole.GUARDIAN, name="Anna Andersson")
        ),
    )
    assert isinstance(withdrawn, models.ConsentPublic)
    assert withdrawn.status == models.ConsentStatus.WITHDRAWN
    assert get_concern.sync_detailed(concern_id=concern.id, client=social).status_code == 404
