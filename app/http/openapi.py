"""The OpenAPI document: FastAPI's, plus the shared error schemas and security schemes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.audit.purpose import DESCRIPTION as PURPOSE_DESCRIPTION
from app.audit.purpose import HEADER as PURPOSE_HEADER
from app.audit.purpose import PurposeOfUse
from app.http.openapi_webhooks import add_webhooks
from app.schemas.problem import OAuthErrorBody, Problem

REF_TEMPLATE = "#/components/schemas/{model}"


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in (Problem, OAuthErrorBody):
            schema = model.model_json_schema(ref_template=REF_TEMPLATE)
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        components["headers"] = RATE_LIMIT_HEADERS
        document["servers"] = SERVERS
        add_webhooks(document, schemas)
        for path, methods in document.get("paths", {}).items():
            for method, operation in methods.items():
                if method not in _METHODS:
                    continue
                _declare_request_id(operation)
                _lift_body_example(operation, schemas)
                operation.setdefault("security", [])  # no token needed: say so (Redocly, generators)
                if method == "get":
                    _declare_conditional_get(operation)
                if path.startswith("/api/"):
                    _declare_rate_limit(operation)
                if path.startswith("/api/v1/"):
                    _declare_purpose_of_use(operation)
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]


_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
_REQUEST_ID = {
    "description": "The caller's X-Request-ID when sane (1–128 of A-Z a-z 0-9 . _ -), else a new id.",
    "schema": {"type": "string"},
}


# Relative: the spec is served by the API it describes, wherever that is deployed.
SERVERS = [{"url": "/", "description": "The server this document is served from."}]
_RATE_LIMIT_DESCRIPTIONS = {
    "RateLimit-Limit": "Requests the client may make per minute (SAMHANDLING_RATE_LIMIT_PER_MINUTE).",
    "RateLimit-Remaining": "Requests left of that allowance now.",
    "RateLimit-Reset": "Seconds until the allowance is whole again.",
    "RateLimit-Policy": "The policy: `<limit>;w=60` (a window of 60 s).",
}
RATE_LIMIT_HEADERS = {
    name: {
        "description": f"{description} IETF draft-ietf-httpapi-ratelimit-headers; absent when the limit is off.",
        "schema": {"type": "string" if name == "RateLimit-Policy" else "integer"},
    }
    for name, description in _RATE_LIMIT_DESCRIPTIONS.items()
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag you hold: `304 Not Modified` without a body while the record still has it.",
    # No maxLength: the server compares the value and otherwise ignores it (RFC 9110 §13.1.2), so a
    # long one is answered 200 like any other that does not match; a limit here would promise a 4xx.
    "schema": {"type": "string"},
}


def _declare_conditional_get(operation: dict[str, Any]) -> None:
    """A GET whose 200 carries an ETag answers If-None-Match with 304 (app/http/conventions.py)."""
    ok = operation.get("responses", {}).get("200", {})
    if "ETag" not in ok.get("headers", {}):
        return
    operation.setdefault("parameters", []).append(_IF_NONE_MATCH)
    operation["responses"]["304"] = {
        "description": "Not modified: the record still has the ETag given in If-None-Match.",
        "headers": {"ETag": ok["headers"]["ETag"], "X-Request-ID": _REQUEST_ID},
    }


def _declare_rate_limit(operation: dict[str, Any]) -> None:
    """Answers to authenticated API requests carry the client's quota (app/http/ratelimit_headers.py)."""
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2") or status == "429":
            headers = response.setdefault("headers", {})
            for name in RATE_LIMIT_HEADERS:
                headers.setdefault(name, {"$ref": f"#/components/headers/{name}"})


_PURPOSE_OF_USE = {
    "name": PURPOSE_HEADER,
    "in": "header",
    "required": False,
    "description": PURPOSE_DESCRIPTION,
    "schema": {"type": "string", "enum": [code.value for code in PurposeOfUse]},
}


def _declare_purpose_of_use(operation: dict[str, Any]) -> None:
    """Every /api/v1 operation takes Purpose-Of-Use (the guard parses it, not the route)."""
    parameters = operation.setdefault("parameters", [])
    if not any(parameter.get("name") == PURPOSE_HEADER for parameter in parameters):
        parameters.append(dict(_PURPOSE_OF_USE))


def _declare_request_id(operation: dict[str, Any]) -> None:
    """Every response of every operation carries X-Request-ID (the pipeline adds it)."""
    for response in operation.get("responses", {}).values():
        response.setdefault("headers", {}).setdefault("X-Request-ID", _REQUEST_ID)


def _lift_body_example(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Show each request body's example on its media type, where tools look for it first."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        reference = media.get("schema", {}).get("$ref", "")
        examples = schemas.get(reference.rsplit("/", 1)[-1], {}).get("examples")
        if examples and "example" not in media:
            media["example"] = examples[0]
