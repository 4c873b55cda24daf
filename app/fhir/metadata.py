"""The CapabilityStatement: what this FHIR view serves, built from the registry it routes by."""

from __future__ import annotations

from collections.abc import Iterable

from app.fhir.search import FHIR_JSON
from app.fhir.views import Resource, ResourceView, coding
from app.http.openapi_info import API_VERSION

# The day this statement's content last changed (FHIR: CapabilityStatement.date); bump with it.
STATEMENT_DATE = "2026-12-02"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def _resource(view: ResourceView) -> Resource:
    scopes = " ".join(view.scopes) or "children:read, or a scope that reads the child's records"
    return {
        "type": view.type,
        "documentation": f"{view.documentation} Scope: {scopes}. JSON twin: {view.twin}.",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": parameter.name, "type": parameter.type, "documentation": parameter.documentation}
            for parameter in view.parameters
        ],
    }


def capability_statement(issuer: str, views: Iterable[ResourceView]) -> Resource:
    base = f"{issuer.rstrip('/')}/fhir/R4"
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STATEMENT_DATE,
        "publisher": "Samhandling",
        "kind": "instance",
        "software": {"name": "Samhandling", "version": API_VERSION},
        "implementation": {
            "description": "Samhandling's read-only FHIR R4 view: the same records, access rule and access log "
            "as /api/v1.",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read and search only. _count is 1–200 (default 50); paging follows the "
                "Bundle's next link. Unsupported parameters are 422. Errors are OperationOutcome with the "
                "JSON API's status codes; a record the caller may not see is 404, as one that does not exist.",
                "security": {
                    "extension": [
                        {"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": f"{issuer}/oauth/token"}]}
                    ],
                    "service": [
                        {"coding": [coding("http://terminology.hl7.org/CodeSystem/restful-security-service", "OAuth")]}
                    ],
                    "description": "OAuth 2.0 client credentials (POST /oauth/token); the same tokens and scopes "
                    "as /api/v1.",
                },
                "resource": [_resource(view) for view in views],
            }
        ],
    }
