"""The OpenAPI document: FastAPI's, plus the shared error schemas and security schemes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]
