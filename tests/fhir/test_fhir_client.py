"""A real FHIR client library (fhirpy) reads and searches a running `samhandling serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from tests.contract.harness import LiveApi, live_api
from tests.fhir.support import validate
from tests.support import personnummer

# The issuer is the service's public address: Bundle links are built from it, not from the Host
# header. fhirpy maps that address onto the one this test reaches the server at.
PUBLIC_BASE = "http://localhost:8000/fhir/R4"


@pytest.fixture
def api(database_url: str, signing_key_file: Path, secrets_key_file: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    with live_api(database_url, signing_key_file, secrets_key_file, tmp_path / "server.log") as running:
        yield running


def client(api: LiveApi, role: str) -> SyncFHIRClient:
    return SyncFHIRClient(
        f"{api.url}/fhir/R4",
        authorization=f"Bearer {api.token(role)}",
        extra_headers={"Accept": "application/fhir+json"},
        # Links name the issuer's host; the issuer follows the server's port unless set.
        url_aliases=[PUBLIC_BASE, api.url.replace("127.0.0.1", "localhost") + "/fhir/R4"],
    )


def _post(api: LiveApi, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{api.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def test_fhirpy_reads_searches_and_pages_and_is_refused_what_is_hidden(api: LiveApi) -> None:
    school = api.token("school")
    child = _post(api, school, "/api/v1/children", {"personnummer": personnummer("20140301", 321)})["id"]
    concerns = [
        _post(
            api,
            school,
            "/api/v1/concerns",
            {"child_id": child, "areas": ["safe"], "description": "Oro.", "urgency": "routine"},
        )
        for _ in range(3)
    ]
    fhir = client(api, "school")

    task = fhir.reference("Task", concerns[0]["id"]).to_resource()
    assert task["status"] == "requested"
    assert task["for"]["reference"] == f"Patient/{child}"
    validate(task.serialize())  # type: ignore[no-untyped-call]  # fhirpy leaves serialize() untyped

    found = fhir.resources("Task").search(patient=child).limit(2).fetch_all()  # follows the next link
    assert sorted(resource["id"] for resource in found) == sorted(concern["id"] for concern in concerns)
    patient = fhir.resources("Patient").search(_id=child).get()
    assert patient["identifier"][0]["system"] == "urn:oid:1.2.752.129.2.1.3.1"
    first = fhir.resources("Task").search(patient=child).limit(2).first()
    assert first is not None
    assert first["resourceType"] == "Task"

    # Social services share no consent with the school here: the concerns are not theirs to see.
    social = client(api, "social")
    with pytest.raises(ResourceNotFound):
        social.reference("Task", concerns[0]["id"]).to_resource()
    assert social.resources("Task").search(patient=child).fetch_all() == []
    with pytest.raises(OperationOutcome):  # a 422 comes back as the OperationOutcome it is
        fhir.resources("Task").search(patinet=child).fetch()

    audit = client(api, "auditor")
    events = audit.resources("AuditEvent").search(patient=child).limit(50).fetch_all()
    assert {event["action"] for event in events} >= {"C", "R", "E"}
    for event in events:
        validate(event.serialize())  # type: ignore[no-untyped-call]  # fhirpy leaves serialize() untyped
