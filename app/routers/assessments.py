"""Compass assessments and the compass view of a child (scopes `assessments:*`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Response, Security
from sqlalchemy import Row

from app.errors import NotFound
from app.http.deps import ContextDep, CursorsDep, SessionDep, SettingsDep
from app.http.etag import with_etag
from app.http.guard import current_caller
from app.http.idempotency import IdempotencyDep
from app.http.loaders import visible
from app.http.paging import (
    DEFAULT_LIMIT,
    CreatedPaging,
    CursorParam,
    LimitParam,
)
from app.models.assessment import Assessment
from app.routers.responses import ETAG_HEADER, created, guarded_router, problems, success
from app.schemas.assessment import AssessmentCreate, AssessmentPublic, Compass
from app.schemas.common import Page
from app.security.caller import Caller
from app.services import assessments
from app.services.children import get_child
from app.services.signal_rules import SignalRules

router = guarded_router("assessments")
AssessmentsReader = Annotated[Caller, Security(current_caller, scopes=["assessments:read"])]
AssessmentsWriter = Annotated[Caller, Security(current_caller, scopes=["assessments:write"])]
VisibleAssessment = Annotated[Assessment, Depends(visible(Assessment, "assessment", "assessment_id"))]


def _public(assessment: Assessment | Row[Any]) -> AssessmentPublic:
    return AssessmentPublic.model_validate(assessment, from_attributes=True)


@router.post(
    "/assessments",
    operation_id="assessments-create",
    summary="Record a compass assessment",
    status_code=201,
    responses={
        201: created("Recorded.", ("GetAssessment", "assessments-get", {"assessment_id": "$response.body#/id"}))
    },
)
async def record_assessment(
    data: AssessmentCreate,
    caller: AssessmentsWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
    settings: SettingsDep,
) -> AssessmentPublic:
    """The child's situation in the wellbeing areas you assessed, from one perspective, dated:
    per area a rating 1–5 and/or strengths and needs. Assessments are never edited — a new
    assessment is a new record, so that change can be followed over time."""
    assessment = await assessments.record_assessment(session, caller, data, SignalRules.from_settings(settings))
    context.audit("assessment", assessment.id, assessment.child_id)
    response.headers["Location"] = f"/api/v1/assessments/{assessment.id}"
    return with_etag(response, _public(assessment))


@router.get(
    "/assessments/{assessment_id}",
    operation_id="assessments-get",
    summary="Get an assessment",
    responses={200: success("The assessment.", ETAG_HEADER), **problems(404)},
)
async def get_assessment(
    caller: AssessmentsReader, assessment: VisibleAssessment, response: Response
) -> AssessmentPublic:
    """An assessment the caller's agency may see by the consent rule; 404 otherwise."""
    return with_etag(response, _public(assessment))


@router.get("/assessments", operation_id="assessments-list", summary="List assessments")
async def list_assessments(
    caller: AssessmentsReader,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    child_id: uuid.UUID | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AssessmentPublic]:
    """The assessments the caller's agency may see, oldest first."""
    binding = {"child_id": child_id}
    paging = CreatedPaging.resume(cursors, cursor, "assessments", caller.client_id, binding, limit)
    rows, next_cursor = paging.cut(
        await assessments.list_assessments(session, caller, child_id, paging.after, paging.fetch)
    )
    context.audit_rows("assessment", rows)
    return Page[AssessmentPublic](items=[_public(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/children/{child_id}/compass",
    operation_id="assessments-compass",
    summary="A child's needs compass",
    responses=problems(404),
)
async def compass(child_id: uuid.UUID, caller: AssessmentsReader, context: ContextDep, session: SessionDep) -> Compass:
    """Per perspective (child, guardian, professional) and wellbeing area: the latest rating,
    the one before it, the change, when, and by which agency — computed only from the
    assessments the caller may see. Areas and perspectives without a visible rating are absent."""
    context.audit("compass", child_id, child_id)
    if await get_child(session, child_id) is None:
        raise NotFound("There is no such child.")
    return Compass(child_id=child_id, perspectives=await assessments.compass_of(session, caller, child_id))
