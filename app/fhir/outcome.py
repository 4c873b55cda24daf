"""Errors under /fhir as OperationOutcome, with the status code the JSON API gives.

The app has one error renderer (RFC 9457 problem+json, app/errors.py), used by its exception
handlers and by the request pipeline's own refusals (413, 429, 503 …). Rather than a second set
of handlers, this outermost middleware rewrites, for FHIR paths only, any problem+json answer
into the OperationOutcome that says the same: every error is covered, wherever it was raised,
and the access log (written by the pipeline, inside) records the same status either way.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from app.fhir.codes import PROBLEM
from app.fhir.search import FHIR_JSON

FHIR_ROOT = "/fhir"
# R4 issue-type codes for the statuses this service answers with.
ISSUE_TYPE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    408: "timeout",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    428: "required",
    429: "throttled",
    503: "transient",
}


def operation_outcome(problem: dict[str, Any], status: int) -> dict[str, Any]:
    """The OperationOutcome for a problem+json body: one issue, or one per validation error."""
    slug = str(problem.get("type", "")).removeprefix(PROBLEM_TYPE_BASE) or "error"
    detail = str(problem.get("detail") or problem.get("title") or "error")
    if problem.get("request_id"):
        detail = f"{detail} (request id {problem['request_id']})"
    issue: dict[str, Any] = {
        "severity": "error" if status < 500 else "fatal",
        "code": ISSUE_TYPE.get(status, "exception"),
        "details": {"coding": [{"system": PROBLEM, "code": slug}], "text": str(problem.get("title") or slug)},
        "diagnostics": detail,
    }
    issues = [issue]
    for error in problem.get("errors") or []:
        where = ".".join(str(part) for part in error.get("loc", ()))
        issues.append({"severity": "error", "code": "invalid", "diagnostics": f"{where}: {error.get('msg')}"})
    return {"resourceType": "OperationOutcome", "issue": issues}


def is_fhir_path(path: str) -> bool:
    return path == FHIR_ROOT or path.startswith(FHIR_ROOT + "/")


class OperationOutcomes:
    """Pure ASGI middleware: under /fhir, problem+json responses become OperationOutcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_fhir_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        body: list[bytes] = []

        async def translate(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and _is_problem(message):
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await _send_outcome(send, held, b"".join(body))

        await self.app(scope, receive, translate)


def _is_problem(start: Message) -> bool:
    return any(
        name == b"content-type" and value.split(b";")[0].strip() == PROBLEM_MEDIA_TYPE.encode()
        for name, value in start.get("headers", ())
    )


async def _send_outcome(send: Send, start: Message, problem_body: bytes) -> None:
    status = int(start["status"])
    try:
        problem = orjson.loads(problem_body)
    except orjson.JSONDecodeError:
        problem = {}
    body = orjson.dumps(operation_outcome(problem if isinstance(problem, dict) else {}, status))
    headers = [
        (name, value) for name, value in start.get("headers", ()) if name not in (b"content-type", b"content-length")
    ]
    headers += [(b"content-type", FHIR_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
