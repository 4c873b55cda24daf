"""A consent record → Consent. JSON twins: `consents-get`, `consents-list` (scope `consents:read`).

`status` is derived as in the JSON API and mapped onto the contract's three values: `active`
while in force; `inactive` when expired or not yet in force (`provision.period` says which);
`rejected` once withdrawn (the family took it back). Each named agency is a provision actor,
with the moment it confirmed the consent for its own records (a consent opens an agency's
records only once that agency confirmed it). `provision.class` lists the record types covered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from app.enums import ConsentStatus
from app.fhir.codes import CONFIRMED_AT, RECORD_TYPE, WITHDRAWN_AT
from app.fhir.paging import search_records
from app.fhir.views import (
    PATIENT,
    FhirCall,
    Resource,
    ResourceView,
    SearchQuery,
    SearchResult,
    coding,
    concept,
    instant,
    record_id,
    reference,
)
from app.models.base import utcnow
from app.models.consent import Consent
from app.security.records import fetch_visible
from app.services import consents
from app.services.consents import ConsentView

CONSENT_STATUS = {
    ConsentStatus.active: "active",
    ConsentStatus.pending: "inactive",
    ConsentStatus.expired: "inactive",
    ConsentStatus.withdrawn: "rejected",
}
_RECIPIENT = concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient")


def _actor(agency_id: str, confirmed_at: datetime | None) -> Resource:
    actor: Resource = {"role": _RECIPIENT, "reference": reference("Organization", agency_id)}
    if confirmed_at is not None:
        actor["extension"] = [{"url": CONFIRMED_AT, "valueDateTime": instant(confirmed_at)}]
    return actor


def _grantor(consent: Consent | Row[Any], grantor: dict[str, Any]) -> Resource:
    if grantor["role"] == "child":
        return {**reference("Patient", consent.child_id), "display": grantor["name"]}
    return {"type": "RelatedPerson", "display": grantor["name"]}  # a guardian (vårdnadshavare)


def _last_change(view: ConsentView) -> datetime:
    """Confirmations and a withdrawal change the representation after the consent was recorded."""
    moments = [view.consent.created_at, *(party.confirmed_at for party in view.parties if party.confirmed_at)]
    if view.withdrawal is not None:
        moments.append(view.withdrawal.withdrawn_at)
    return max(moments)


def to_consent(view: ConsentView, now: datetime) -> Resource:
    consent = view.consent
    resource: Resource = {
        "resourceType": "Consent",
        "id": str(consent.id),
        "meta": {"lastUpdated": instant(_last_change(view))},
        "status": CONSENT_STATUS[view.status(now)],
        "scope": concept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent"),
        "category": [concept("http://loinc.org", "59284-0", "Patient Consent")],
        "patient": reference("Patient", consent.child_id),
        "dateTime": instant(consent.created_at),
        "performer": [_grantor(consent, grantor) for grantor in consent.granted_by],
        "organization": [reference("Organization", consent.agency_id)],
        "policyRule": concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in"),
        "provision": {
            "type": "permit",
            "period": {"start": instant(consent.valid_from), "end": instant(consent.valid_until)},
            "actor": [_actor(party.agency_id, party.confirmed_at) for party in view.parties],
            "purpose": [{"display": consent.purpose}],
            "class": [coding(RECORD_TYPE, record_type.value) for record_type in view.record_types],
        },
    }
    if view.withdrawal is not None:
        resource["extension"] = [{"url": WITHDRAWN_AT, "valueDateTime": instant(view.withdrawal.withdrawn_at)}]
    return resource


async def read(call: FhirCall, raw_id: str) -> Resource:
    consent = await fetch_visible(call.context, Consent, "consent", record_id(raw_id))
    (view,) = await consents.views_of(call.session, [consent])
    return to_consent(view, utcnow())


async def _consents(call: FhirCall, rows: list[Row[Any]]) -> list[Resource]:
    now = utcnow()
    return [to_consent(view, now) for view in await consents.views_of(call.session, rows)]


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    return await search_records(call, query, "Consent", "consent", consents.list_consents, _consents)


VIEW = ResourceView(
    type="Consent",
    scopes=("consents:read",),
    twin="consents-get, consents-list",
    read=read,
    search=search,
    parameters=(PATIENT,),
    documentation="A consent record, visible to the agencies it names: provision actors the named agencies (with "
    "when each confirmed), period the validity, class the record types; status active, inactive (expired or not "
    "yet in force) or rejected (withdrawn).",
)
