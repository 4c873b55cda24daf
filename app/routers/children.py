"""Children: register-or-find by personal identity number, and read by id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Response, Security

from app.errors import NotFound
from app.http.deps import ContextDep, SessionDep
from app.http.etag import etag_of
from app.http.guard import current_caller
from app.models.child import Child
from app.routers.responses import ETAG_HEADER, body_links, guarded_router, links, problems, success
from app.schemas.child import ChildPublic, ChildRegister
from app.security.caller import Caller
from app.security.identifiers import PersonalIdentityNumber
from app.services import children

router = guarded_router("children")
ChildrenReader = Annotated[Caller, Security(current_caller, scopes=["children:read"])]
ChildrenWriter = Annotated[Caller, Security(current_caller, scopes=["children:write"])]


def _public(child: Child) -> ChildPublic:
    return ChildPublic(id=child.id, personnummer=child.personnummer, birth_date=child.birth_date)


@router.post(
    "/children",
    operation_id="children-register",
    summary="Register a child, or find it",
    responses={
        200: {
            **success("The child (whether or not it was registered before).", ETAG_HEADER),
            "links": {
                **links(
                    ("GetChild", "children-get", {"child_id": "$response.body#/id"}),
                    ("Compass", "assessments-compass", {"child_id": "$response.body#/id"}),
                    ("AccessReport", "access-log-child-report", {"child_id": "$response.body#/id"}),
                    ("ListConcerns", "concerns-list", {"child_id": "$response.body#/id"}),
                    ("ListConsents", "consents-list", {"child_id": "$response.body#/id"}),
                    ("ListAssessments", "assessments-list", {"child_id": "$response.body#/id"}),
                    ("ListTeams", "teams-list", {"child_id": "$response.body#/id"}),
                )["links"],
                **body_links(
                    ("RaiseConcern", "concerns-create", {"child_id": "$response.body#/id"}),
                    ("RecordConsent", "consents-create", {"child_id": "$response.body#/id"}),
                    ("RecordAssessment", "assessments-create", {"child_id": "$response.body#/id"}),
                    ("CreateTeam", "teams-create", {"child_id": "$response.body#/id"}),
                ),
            },
        }
    },
)
async def register_child(
    data: ChildRegister, caller: ChildrenWriter, context: ContextDep, session: SessionDep, response: Response
) -> ChildPublic:
    """Turn a personnummer (or samordningsnummer) into the child's id. Always 200 with the
    same answer, so it does not reveal whether another agency registered the child first. The
    number travels only in this body and the response: never put it in a URL."""
    child = await children.register_child(session, PersonalIdentityNumber.parse(data.personnummer))
    context.audit("child", child.id, child.id)
    public = _public(child)
    response.headers["ETag"] = etag_of(public)
    return public


@router.get(
    "/children/{child_id}",
    operation_id="children-get",
    summary="Get a child",
    responses={200: success("The child.", ETAG_HEADER), **problems(404)},
)
async def get_child(
    child_id: uuid.UUID, caller: ChildrenReader, context: ContextDep, session: SessionDep, response: Response
) -> ChildPublic:
    """Any client with `children:read` may read a child: it holds only the identity mapping."""
    context.audit("child", child_id, child_id)
    child = await children.get_child(session, child_id)
    if child is None:
        raise NotFound("There is no such child.")
    public = _public(child)
    response.headers["ETag"] = etag_of(public)
    return public
