"""An agency → Organization. JSON twins: `agencies-get`, `agencies-list` (scope `admin`).

Agencies are read in the JSON API by admins only — an agency's admin its own agency, a platform
admin every agency — and so they are here (app/security/admin.py). Other resources refer to an
agency as `Organization/{slug}`, the `agency_id` the JSON API shows them.
"""

from __future__ import annotations

from app.errors import NotFound
from app.fhir.codes import (
    AGENCY_KIND,
    HSA_ID,
    ORGANISATION_NUMBER,
    ORGANIZATION_TYPE,
    SCHOOL_UNIT_CODE,
    V2_IDENTIFIER_TYPE,
)
from app.fhir.views import ID, FhirCall, Resource, ResourceView, SearchQuery, SearchResult, concept, instant
from app.http.paging import split_page
from app.models.agency import Agency
from app.security.admin import admin_authority
from app.services import agencies

# The HL7 organization-type closest to each agency kind (alongside the kind itself).
_HL7_TYPE = {
    "preschool": ("edu", "Educational Institute"),
    "school": ("edu", "Educational Institute"),
    "social_services": ("govt", "Government"),
    "health_care": ("prov", "Healthcare Provider"),
    "police": ("govt", "Government"),
}


def _identifiers(agency: Agency) -> list[Resource]:
    identifiers = []
    if agency.organisation_number:
        identifiers.append(
            {
                "use": "official",
                "type": concept(V2_IDENTIFIER_TYPE, "XX", "Organization identifier"),
                "system": ORGANISATION_NUMBER,
                "value": agency.organisation_number,
            }
        )
    if agency.hsa_id:
        identifiers.append(
            {"type": concept(V2_IDENTIFIER_TYPE, "PRN", "Provider number"), "system": HSA_ID, "value": agency.hsa_id}
        )
    if agency.school_unit_code:
        identifiers.append({"system": SCHOOL_UNIT_CODE, "value": agency.school_unit_code})
    return identifiers


def to_organization(agency: Agency) -> Resource:
    hl7_code, hl7_display = _HL7_TYPE.get(agency.kind, ("other", "Other"))
    resource: Resource = {
        "resourceType": "Organization",
        "id": agency.id,
        "meta": {"lastUpdated": instant(agency.created_at)},
        "active": True,
        "type": [concept(ORGANIZATION_TYPE, hl7_code, hl7_display), concept(AGENCY_KIND, agency.kind)],
        "name": agency.name,
    }
    identifiers = _identifiers(agency)
    if identifiers:
        resource["identifier"] = identifiers
    if agency.municipality:
        resource["address"] = [{"city": agency.municipality, "country": "SE"}]
    return resource


async def read(call: FhirCall, raw_id: str) -> Resource:
    call.context.audit("agency", raw_id[:64])  # as agencies-get
    authority = await admin_authority(call.session, call.caller)
    authority.require_agency(raw_id)
    agency = await agencies.get_agency(call.session, raw_id)
    if agency is None:
        raise NotFound("There is no such agency.")
    return to_organization(agency)


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    """As agencies-list, by id; `_id` narrows it to one agency (still only those administered)."""
    authority = await admin_authority(call.session, call.caller)
    after = (
        call.cursors.decode(query.cursor, "fhir:Organization", call.caller.client_id, query.binding)[0]
        if query.cursor
        else None
    )
    only = authority.agency_id if not authority.platform else query.ids
    if query.ids is not None and only != query.ids:
        rows: list[Agency] = []
    else:
        rows = await agencies.list_agencies(call.session, after, query.count + 1, only)
    page, last = split_page(rows, query.count)
    call.context.audit("agency")
    next_cursor = (
        call.cursors.encode("fhir:Organization", call.caller.client_id, query.binding, [last.id]) if last else None
    )
    return SearchResult([to_organization(agency) for agency in page], next_cursor)


VIEW = ResourceView(
    type="Organization",
    scopes=("admin",),
    twin="agencies-get, agencies-list",
    read=read,
    search=search,
    parameters=(ID,),
    documentation="An agency, with its organisation number (urn:oid:2.5.4.97), HSA-id (urn:oid:1.2.752.29.4.19) "
    "and school-unit code as identifiers. Read by admins, as in the JSON API: an agency's admin its own agency.",
)
