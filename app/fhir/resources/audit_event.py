"""Access-log entries → AuditEvent, shaped as IHE BALP. JSON twin: `access-log-list` (`audit:read`).

One AuditEvent per chained entry, its id the entry's `seq`. The shape follows the Basic Audit
Log Patterns: `type` rest with the RESTful interaction as `subtype` (read, search-type, create,
update, delete) and the matching `action` (R, E, C, U, D); the client, the server and the
caller's agency as agents with BALP's role codes (the DICOM source/destination role ids, which
BALP assigns differently for reads and for the rest); entities for the transaction (the
X-Request-ID), the child (role Patient), the record (role Domain Resource) or the search (role
Query). BALP's profiles are not claimed in `meta.profile`: they require the client's network
address, which this log deliberately does not keep, and a search's raw query, whose values it
never records (they may hold a personnummer) — the search entity's `query` holds the route
template instead. The chain's `hash` and `prev_hash` ride along as details of the transaction
entity, so an auditor can check the chain from these resources as from the JSON entries.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import RowMapping

from app.audit.chain import format_at
from app.audit.queries import chain, chained_entries, log
from app.errors import NotFound, unprocessable
from app.fhir.codes import CLIENT_ID, RECORD_ID
from app.fhir.views import PATIENT, FhirCall, Resource, ResourceView, SearchQuery, SearchResult, coding, reference
from app.http.paging import split_page

Entry = RowMapping | dict[str, Any]  # a chained entry, as chained_entries() selects it

DCM = "http://dicom.nema.org/resources/ontology/DCM"
SOURCE_ROLE, DESTINATION_ROLE = coding(DCM, "110153", "Source Role ID"), coding(DCM, "110152", "Destination Role ID")
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
REST = coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "Restful Operation")
AUTHENTICATION = coding(DCM, "110114", "User Authenticated")
INTERACTION = "http://hl7.org/fhir/restful-interaction"
OUTCOME = {"allowed": "0", "denied": "4"}  # R4 audit-event-outcome: success, minor failure
# The log's resource types that are served here, and as what.
FHIR_TYPES = {
    "child": "Patient",
    "agency": "Organization",
    "concern": "Task",
    "consent": "Consent",
    "team": "CareTeam",
    "assessment": "QuestionnaireResponse",
    "plan": "CarePlan",
    "plan_goal": "Goal",
}
_CREATES = ("-create", "-register", "-add-member")


def interaction(entry: Entry) -> tuple[str | None, str]:
    """The RESTful interaction (None for the token endpoint) and the AuditEvent action code."""
    route, method = entry["route"] or "", entry["method"]
    if route.startswith("/oauth/"):
        return None, "E"
    if method in ("GET", "HEAD"):
        return ("read", "R") if route.endswith("}") else ("search-type", "E")
    if method == "DELETE":
        return "delete", "D"
    if method == "POST" and entry["action"].endswith(_CREATES):
        return "create", "C"
    return "update", "U"  # PATCH, and the POSTs that change a record (withdraw, confirm, close)


def _agents(call: FhirCall, entry: Entry, subtype: str | None) -> list[Resource]:
    reading = subtype == "read"
    client_who: Resource | None = (
        {"identifier": {"system": CLIENT_ID, "value": entry["client_id"]}} if entry["client_id"] else None
    )
    client: Resource = {
        "type": {"coding": [DESTINATION_ROLE if reading else SOURCE_ROLE]},
        "who": client_who or {"display": "unidentified client"},
        "requestor": False,
    }
    if entry["jti"]:
        client["policy"] = [entry["jti"]]  # BALP: the access token's id
    server: Resource = {
        "type": {"coding": [SOURCE_ROLE if reading else DESTINATION_ROLE]},
        "who": {"identifier": {"value": call.base}, "display": "Samhandling"},
        "requestor": False,
        "network": {"address": call.base, "type": "5"},  # 5: URI
    }
    agents = [client, server]
    if entry["agency_id"]:
        recipient = subtype in ("read", "search-type")
        agency: Resource = {
            "type": {
                "coding": [
                    coding(PARTICIPATION, "IRCP", "information recipient")
                    if recipient
                    else coding(PARTICIPATION, "AUT", "author")
                ]
            },
            "who": reference("Organization", entry["agency_id"]),
            "requestor": True,
        }
        if entry["role"]:
            agency["role"] = [{"text": entry["role"]}]
        if entry["purpose_of_use"]:
            agency["purposeOfUse"] = [{"text": entry["purpose_of_use"]}]
        agents.append(agency)
    return agents


def _detail(kind: str, value: object) -> Resource:
    return {"type": kind, "valueString": str(value)}


def _entities(entry: Entry, subtype: str | None) -> list[Resource]:
    details = [_detail(name, entry[name]) for name in ("action", "route", "status_code", "hash", "prev_hash")]
    if entry.get("repeat_count") is not None:
        details.append(_detail("repeat_count", entry["repeat_count"]))
    entities: list[Resource] = [
        {
            "what": {"identifier": {"value": entry["request_id"]}},
            "type": coding(BALP_ENTITY_TYPE, "XrequestId"),
            "detail": details,
        }
    ]
    if entry["child_id"] is not None:
        entities.append(
            {
                "what": reference("Patient", entry["child_id"]),
                "type": coding(ENTITY_TYPE, "1", "Person"),
                "role": coding(OBJECT_ROLE, "1", "Patient"),
            }
        )
    if subtype == "search-type":
        entities.append(
            {
                "type": coding(ENTITY_TYPE, "2", "System Object"),
                "role": coding(OBJECT_ROLE, "24", "Query"),
                "description": "The route template; query values are never recorded.",
                "query": base64.b64encode(f"{entry['method']} {entry['route']}".encode()).decode(),
            }
        )
    elif entry["resource_type"] and entry["resource_id"]:
        fhir_type = FHIR_TYPES.get(entry["resource_type"])
        what = (
            reference(fhir_type, entry["resource_id"])
            if fhir_type
            else {"identifier": {"system": RECORD_ID + entry["resource_type"], "value": entry["resource_id"]}}
        )
        entities.append(
            {
                "what": what,
                "type": coding(ENTITY_TYPE, "2", "System Object"),
                "role": coding(OBJECT_ROLE, "4", "Domain Resource"),
            }
        )
    return entities


def to_audit_event(call: FhirCall, entry: Entry) -> Resource:
    subtype, action = interaction(entry)
    failed = entry["outcome"] not in OUTCOME
    resource: Resource = {
        "resourceType": "AuditEvent",
        "id": str(entry["seq"]),
        "type": REST if subtype else AUTHENTICATION,
        "action": action,
        "recorded": format_at(entry["at"]),  # the form the entry's hash covers
        "outcome": ("8" if entry["status_code"] >= 500 else "4") if failed else OUTCOME[entry["outcome"]],
        "outcomeDesc": f"{entry['outcome']} (HTTP {entry['status_code']})",
        "agent": _agents(call, entry, subtype),
        "source": {
            "site": "samhandling",
            "observer": {"display": "Samhandling access log"},
            "type": [coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
        },
        "entity": _entities(entry, subtype),
    }
    if subtype:
        resource["subtype"] = [coding(INTERACTION, subtype)]
    return resource


async def _chain_pending(call: FhirCall) -> None:
    """Entries are readable as soon as their response was sent: chain what is committed first."""
    await call.sequencer.catch_up()


async def read(call: FhirCall, raw_id: str) -> Resource:
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        raise unprocessable(["path", "id"], "not a valid id: an AuditEvent's id is the entry's seq")
    call.context.audit("access_log", raw_id)
    await _chain_pending(call)
    row = (await call.session.execute(chained_entries().where(chain.c.seq == int(raw_id)))).mappings().first()
    if row is None:
        raise NotFound("There is no such access-log entry.")
    return to_audit_event(call, row)


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    """As access-log-list with `child_id` (one log entry for the read, with the child)."""
    call.context.audit("access_log", None, query.child_id)
    await _chain_pending(call)
    statement = chained_entries()
    if query.child_id is not None:
        statement = statement.where(log.c.child_id == query.child_id)
    kind, owner = "fhir:AuditEvent", call.caller.client_id
    if query.cursor:
        (after,) = call.cursors.decode(query.cursor, kind, owner, query.binding)
        statement = statement.where(chain.c.seq > int(after))
    rows: list[RowMapping] = list(
        (await call.session.execute(statement.order_by(chain.c.seq).limit(query.count + 1))).mappings().all()
    )
    page, last = split_page(rows, query.count)
    next_cursor = call.cursors.encode(kind, owner, query.binding, [last["seq"]]) if last is not None else None
    return SearchResult([to_audit_event(call, row) for row in page], next_cursor)


VIEW = ResourceView(
    type="AuditEvent",
    scopes=("audit:read",),
    twin="access-log-list",
    read=read,
    search=search,
    parameters=(PATIENT,),
    documentation="The access log, one AuditEvent per entry (id = seq), shaped as IHE BALP; auditors only.",
)
