"""The FHIR routes: `metadata`, and a read and a search per registered resource type.

Every read and search route is a `GuardedRoute` whose caller declares the scopes of the type's
JSON twin, so authentication, scopes, rate limit and Purpose-Of-Use are checked exactly as for
`/api/v1`. The routes are left out of the OpenAPI document: FHIR's own machine-readable contract
is the CapabilityStatement at /fhir/R4/metadata (built from the same registry), and a FHIR
client reads that, not an OpenAPI spec; generated OpenAPI clients would only see untyped blobs.

No `from __future__ import annotations` here: the routes are made in a loop, and FastAPI reads
each route's caller declaration (with that type's scopes) from its annotations at definition.
"""

import hashlib
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request, Security
from fastapi.responses import Response

from app.fhir.metadata import capability_statement
from app.fhir.registry import VIEWS
from app.fhir.search import FHIR_JSON, negotiate, parse_search, refuse_parameters, searchset
from app.fhir.views import FhirCall, Resource, ResourceView
from app.http.deps import ContextDep, CursorsDep, SequencerDep, SessionDep, SettingsDep
from app.http.guard import GuardedRoute, current_caller
from app.security.caller import Caller

BASE_PATH = "/fhir/R4"
FhirId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-\.]{1,64}$", description="The resource's FHIR id.")]

router = APIRouter(include_in_schema=False)
guarded = APIRouter(prefix=BASE_PATH, route_class=GuardedRoute, include_in_schema=False)
public = APIRouter(prefix=BASE_PATH, include_in_schema=False)


def fhir_response(resource: Resource, *, etag: bool = False) -> Response:
    body = orjson.dumps(resource)
    headers = {"ETag": f'"{hashlib.sha256(body).hexdigest()[:32]}"'} if etag else None
    return Response(body, media_type=FHIR_JSON, headers=headers)


@public.get("/metadata", operation_id="fhir-metadata", summary="CapabilityStatement")
async def metadata(request: Request, settings: SettingsDep) -> Response:
    """What this view serves; no token needed (nor logged), like the OpenAPI document."""
    negotiate(request)
    refuse_parameters(request, frozenset({"mode"}))
    return fhir_response(capability_statement(settings.issuer, VIEWS))


def _call(
    request: Request,
    caller: Caller,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    issuer: str,
    sequencer: SequencerDep,
) -> FhirCall:
    return FhirCall(context, caller, session, cursors, f"{issuer.rstrip('/')}{BASE_PATH}", request, sequencer)


def add_routes(view: ResourceView) -> None:
    async def read(
        resource_id: FhirId,
        caller: Annotated[Caller, Security(current_caller, scopes=list(view.scopes))],
        context: ContextDep,
        session: SessionDep,
        cursors: CursorsDep,
        settings: SettingsDep,
        sequencer: SequencerDep,
        request: Request,
    ) -> Response:
        negotiate(request)
        refuse_parameters(request, frozenset())
        call = _call(request, caller, context, session, cursors, settings.issuer, sequencer)
        return fhir_response(await view.read(call, resource_id), etag=True)

    async def search(
        caller: Annotated[Caller, Security(current_caller, scopes=list(view.scopes))],
        context: ContextDep,
        session: SessionDep,
        cursors: CursorsDep,
        settings: SettingsDep,
        sequencer: SequencerDep,
        request: Request,
    ) -> Response:
        negotiate(request)
        query = parse_search(request, view.parameters)
        call = _call(request, caller, context, session, cursors, settings.issuer, sequencer)
        return fhir_response(searchset(call, view.type, query, await view.search(call, query)))

    read.__doc__ = f"Read one {view.type} (JSON twin: {view.twin})."
    search.__doc__ = f"Search {view.type} resources, as a searchset Bundle (JSON twin: {view.twin})."
    guarded.add_api_route(f"/{view.type}/{{resource_id}}", read, methods=["GET"], operation_id=f"fhir-{view.type}-read")
    guarded.add_api_route(f"/{view.type}", search, methods=["GET"], operation_id=f"fhir-{view.type}-search")


for _view in VIEWS:
    add_routes(_view)
router.include_router(public)
router.include_router(guarded)
