"""A child → Patient. JSON twin: `children-get`.

The personnummer (or samordningsnummer) and the birth date it encodes are the identity mapping
that `children:read` grants; a caller that reads the child's records under another scope
(`concerns:read`, …) may follow `Task.for` to the Patient, but gets its id only.
"""

from __future__ import annotations

from app.errors import InsufficientScope, NotFound, unprocessable
from app.fhir.codes import PERSONNUMMER, SAMORDNINGSNUMMER, V2_IDENTIFIER_TYPE
from app.fhir.views import ID, FhirCall, Resource, ResourceView, SearchQuery, SearchResult, concept, day, instant
from app.fhir.views import record_id as parse_id
from app.models.child import Child
from app.services import children

IDENTITY_SCOPE = "children:read"
# Scopes that read a child's records, and so may resolve a reference to the child.
RECORD_SCOPES = frozenset({"concerns:read", "consents:read", "assessments:read", "teams:read", "plans:read"})


def to_patient(child: Child, *, with_identity: bool) -> Resource:
    resource: Resource = {
        "resourceType": "Patient",
        "id": str(child.id),
        "meta": {"lastUpdated": instant(child.created_at)},
    }
    if with_identity:
        resource["identifier"] = [
            {
                "use": "official",
                "type": concept(V2_IDENTIFIER_TYPE, "NI", "National unique individual identifier"),
                "system": SAMORDNINGSNUMMER if child.is_coordination_number else PERSONNUMMER,
                "value": child.personnummer,
            }
        ]
        resource["birthDate"] = day(child.birth_date)
    return resource


def _identity_allowed(call: FhirCall) -> bool:
    if IDENTITY_SCOPE in call.caller.scopes:
        return True
    if call.caller.scopes & RECORD_SCOPES:
        return False
    error = InsufficientScope({IDENTITY_SCOPE})
    error.detail = "Reading a Patient needs children:read, or a scope that reads the child's records."
    raise error


async def _find(call: FhirCall, raw_id: str) -> tuple[Child | None, bool]:
    with_identity = _identity_allowed(call)
    child_id = parse_id(raw_id)
    call.context.audit("child", child_id, child_id)  # as children-get: before the lookup
    return await children.get_child(call.session, child_id), with_identity


async def read(call: FhirCall, raw_id: str) -> Resource:
    child, with_identity = await _find(call, raw_id)
    if child is None:
        raise NotFound("There is no such child.")
    return to_patient(child, with_identity=with_identity)


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    """By `_id` only: there is no list of children to browse, and no search by personnummer (it
    never goes into a URL; `POST /api/v1/children` turns one into the child's id)."""
    if query.ids is None:
        raise unprocessable(["query", "_id"], "a Patient search needs _id")
    child, with_identity = await _find(call, query.ids)
    return SearchResult([] if child is None else [to_patient(child, with_identity=with_identity)], None)


VIEW = ResourceView(
    type="Patient",
    scopes=(),  # checked in _identity_allowed: children:read, or a record scope (id only)
    twin="children-get",
    read=read,
    search=search,
    parameters=(ID,),
    documentation="A child. identifier (personnummer urn:oid:1.2.752.129.2.1.3.1, samordningsnummer "
    "urn:oid:1.2.752.129.2.1.3.3) and birthDate only with children:read; with a scope that reads the "
    "child's records, the id only. Search by _id; never by identifier (no personnummer in a URL).",
)
