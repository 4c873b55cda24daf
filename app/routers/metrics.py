"""Prometheus metrics on the API port (or, by setting, on a port of their own, or not at all)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.observability import metrics_payload

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    operation_id="operations-metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
async def metrics() -> Response:
    """Prometheus exposition format: requests, latencies, tokens, denials, the log, the pool."""
    payload, content_type = metrics_payload()
    return Response(payload, media_type=content_type)
