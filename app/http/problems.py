"""The one rendering of every error: an RFC 9457 problem+json response."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from starlette.responses import Response

from app.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, AppError


def problem_body(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    request_id: str | None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if errors is not None:
        body["errors"] = [dict(error) for error in errors]
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    request_id: str | None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = problem_body(status=status, slug=slug, title=title, detail=detail, request_id=request_id, errors=errors)
    return Response(orjson.dumps(body), status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE)


def render_app_error(error: AppError, request_id: str | None) -> Response:
    body = problem_body(
        status=error.status,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        request_id=request_id,
        errors=error.errors,
        extra=error.extra,
    )
    return Response(orjson.dumps(body), status_code=error.status, headers=error.headers, media_type=error.media_type)
