"""`samhandling demo`: a sandbox for integrators — a small municipality's agencies and clients.

Drawn from the project's seed documents: Nora, in northern Örebro county, where every child is
to be covered by Backa barnet by 2028 — a school, a preschool, social services, a health centre
(vårdcentral), the local police area, and the municipality's administration (admin and
data-protection tools). One client per agency and role, a registered child, a concern the
school has reported to social services, and the family's consent to share concerns and
assessments between the school, social services and the health centre — confirmed by all three,
so each of them may disclose its records under it. The municipality's admin is a platform admin
(it runs the sandbox); its auditor reads the whole log.

Idempotent: the first run creates everything and keeps the credentials in a 0600 file next to
the signing key; later runs create nothing and print the same credentials again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.enums import Area, GrantorRole, RecordType, Urgency
from app.models.base import utcnow
from app.ops.operator import operator_transaction
from app.schemas.agency import AgencyCreate
from app.schemas.concern import ConcernCreate
from app.schemas.consent import ConsentCreate, Grantor
from app.security.caller import Caller
from app.security.identifiers import PersonalIdentityNumber
from app.security.keys import write_secret_file
from app.security.scopes import scopes_for
from app.services.agencies import create_agency, get_agency
from app.services.children import register_child
from app.services.clients import create_client
from app.services.concerns import raise_concern
from app.services.consents import confirm, record_consent
from app.settings import Settings

MUNICIPALITY = "Nora"
AGENCIES = [
    AgencyCreate(
        id="norrskolan", kind="school", name="Norrskolan", municipality=MUNICIPALITY, school_unit_code="18612345"
    ),
    AgencyCreate(id="forskolan-solrosen", kind="preschool", name="Förskolan Solrosen", municipality=MUNICIPALITY),
    AgencyCreate(id="socialtjansten", kind="social_services", name="Socialtjänsten Nora", municipality=MUNICIPALITY),
    AgencyCreate(
        id="vardcentralen-nora",
        kind="health_care",
        name="Vårdcentralen Nora",
        municipality=MUNICIPALITY,
        hsa_id="SE2321000164-VCNORA",
    ),
    AgencyCreate(id="polisen-bergslagen", kind="police", name="Lokalpolisområde Bergslagen"),
    AgencyCreate(
        id="nora-kommun", kind="social_services", name="Nora kommun, förvaltningen", municipality=MUNICIPALITY
    ),
]
# (environment-variable prefix, agency, role)
CLIENTS = [
    ("SCHOOL", "norrskolan", "practitioner"),
    ("PRESCHOOL", "forskolan-solrosen", "practitioner"),
    ("SOCIAL", "socialtjansten", "practitioner"),
    ("HEALTH", "vardcentralen-nora", "practitioner"),
    ("POLICE", "polisen-bergslagen", "practitioner"),
    ("AUDITOR", "nora-kommun", "auditor"),
    ("ADMIN", "nora-kommun", "admin"),
]
DEMO_CHILD = "20150612-2389"
# The agencies the demo family's consent names; the school records it, the others confirm it.
CONSENT_AGENCIES = ["norrskolan", "socialtjansten", "vardcentralen-nora"]
PLATFORM_ADMINS = {"ADMIN"}


@dataclass
class DemoClient:
    name: str
    agency_id: str
    role: str
    client_id: str
    client_secret: str


def credentials_file(settings: Settings) -> Path:
    return settings.signing_key_file.with_name("demo-credentials.json")


async def seed_demo(settings: Settings) -> tuple[list[DemoClient], bool]:
    """The demo clients, and whether this run created them."""
    stored = credentials_file(settings)
    if stored.exists():
        return [DemoClient(**client) for client in json.loads(stored.read_text())], False
    clients: list[DemoClient] = []
    async with operator_transaction(settings, "demo") as (session, context):
        for agency in AGENCIES:
            if await get_agency(session, agency.id) is None:
                await create_agency(session, agency)
                context.audit("agency", agency.id)
        for name, agency_id, role in CLIENTS:
            client, _kind, secret = await create_client(
                session,
                agency_id=agency_id,
                role=role,
                name=f"Demo: {name.lower()} system",
                platform=name in PLATFORM_ADMINS,
            )
            context.audit("client", client.client_id)
            clients.append(DemoClient(name, agency_id, role, client.client_id, secret))
        child = await register_child(session, PersonalIdentityNumber.parse(DEMO_CHILD))
        school = Caller("demo", "norrskolan", "practitioner", scopes_for("school", "practitioner"), "demo")
        concern = ConcernCreate(
            child_id=child.id,
            areas=[Area.safe, Area.nurtured],
            description="Eleven har flera dagar i rad kommit till skolan utan frukost och varit ledsen.",
            urgency=Urgency.urgent,
            report_to_agency_id="socialtjansten",
        )
        created = await raise_concern(session, school, concern)
        context.audit("concern", created.id, child.id)
        consent = await record_consent(
            session,
            school,
            ConsentCreate(
                child_id=child.id,
                granted_by=[Grantor(role=GrantorRole.guardian, name="Anna Andersson")],
                agency_ids=CONSENT_AGENCIES,
                record_types=[RecordType.concerns, RecordType.assessments],
                purpose="Samordnat stöd kring skolgång, hälsa och hemsituation.",
                valid_until=utcnow() + timedelta(days=365),
            ),
        )
        context.audit("consent", consent.consent.id, child.id)
        for agency_id in CONSENT_AGENCIES[1:]:
            kind = next(agency.kind for agency in AGENCIES if agency.id == agency_id)
            party = Caller("demo", agency_id, "practitioner", scopes_for(kind, "practitioner"), "demo")
            await confirm(session, party, consent.consent)
    write_secret_file(stored, json.dumps([client.__dict__ for client in clients], indent=2).encode())
    return clients, True


def render(clients: list[DemoClient], created: bool, base_url: str) -> str:
    lines = [
        f"Demo sandbox for {MUNICIPALITY} kommun {'created' if created else 'already set up'}.",
        "Credentials (kept, 0600, in demo-credentials.json next to the signing key, and printed again on every run"
        " of `samhandling demo` — a sandbox's; a real client's secret is shown once, at `clients add`):",
        "",
    ]
    for client in clients:
        lines.append(f"export {client.name}_CLIENT_ID={client.client_id}")
        lines.append(f"export {client.name}_CLIENT_SECRET={client.client_secret}")
    lines += [
        "",
        "Try it (after pasting the exports above):",
        "",
        f"  # 1. a token for the school's system\n"
        f'  TOKEN=$(curl -s -u "$SCHOOL_CLIENT_ID:$SCHOOL_CLIENT_SECRET" -d grant_type=client_credentials '
        f"{base_url}/oauth/token | jq -r .access_token)",
        f"  # 2. turn a personnummer into the child's id (never put it in a URL)\n"
        f"  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
        f'-d \'{{"personnummer": "{DEMO_CHILD}"}}\' {base_url}/api/v1/children',
        f"  # 3. the concerns the school may see\n"
        f'  curl -s -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/concerns',
        "",
        "Then follow the README's integrator guide, or open " + f"{base_url}/docs",
    ]
    return "\n".join(lines)


def summary(clients: list[DemoClient]) -> list[dict[str, Any]]:
    return [client.__dict__ for client in clients]
