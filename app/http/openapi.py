"""The OpenAPI document: FastAPI's, plus the shared error schemas and security schemes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.audit.purpose import DESCRIPTION as PURPOSE_DESCRIPTION
from app.audit.purpose import HEADER as PURPOSE_HEADER
from app.audit.purpose import PurposeOfUse
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
        components.setdefault("securitySchemes", {})["clientBasic"] = {
            "type": "http",
            "scheme": "basic",
            "description": "client_secret_basic at the token endpoint: client_id and client_secret.",
        }
        for path, operation in _operations_by_path(document):
            _declare_request_id(operation)
            _lift_body_example(operation, schemas)
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


def _operations_by_path(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, operation)
        for path, path_item in document.get("paths", {}).items()
        for method, operation in path_item.items()
        if method in _METHODS
    ]


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
