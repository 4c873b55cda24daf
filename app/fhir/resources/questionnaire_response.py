"""A compass assessment → QuestionnaireResponse. JSON twins: `assessments-get`, `assessments-list`.

One item per assessed wellbeing area (linkId the area code), holding the rating (integer 1–5)
and the strengths and needs texts that were given. Whose view it is — the child's, a guardian's
or a professional's — is the response's `source`: the child's Patient, or a RelatedPerson or a
Practitioner named by type only (the JSON API records the perspective, not the person).
Assessments are never edited, so every response is `completed`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from app.enums import Area
from app.fhir.paging import search_records
from app.fhir.views import (
    PATIENT,
    SUBJECT,
    FhirCall,
    Resource,
    ResourceView,
    SearchQuery,
    SearchResult,
    instant,
    record_id,
    reference,
)
from app.models.assessment import Assessment
from app.security.records import fetch_visible
from app.services import assessments

AREA_TEXT = {
    Area.safe: "Safe",
    Area.healthy: "Healthy",
    Area.achieving: "Achieving",
    Area.nurtured: "Nurtured",
    Area.active: "Active",
    Area.respected: "Respected",
    Area.responsible: "Responsible",
    Area.included: "Included",
}


def _source(assessment: Assessment | Row[Any]) -> Resource:
    if assessment.perspective == "child":
        return reference("Patient", assessment.child_id)
    if assessment.perspective == "guardian":
        return {"type": "RelatedPerson", "display": "guardian"}
    return {"type": "Practitioner", "display": "professional"}


def _area_item(area: str, value: dict[str, Any]) -> Resource:
    answers: list[Resource] = []
    if value.get("rating") is not None:
        answers.append({"linkId": f"{area}.rating", "answer": [{"valueInteger": int(value["rating"])}]})
    for text in ("strengths", "needs"):
        if value.get(text):
            answers.append({"linkId": f"{area}.{text}", "answer": [{"valueString": value[text]}]})
    return {"linkId": area, "text": AREA_TEXT[Area(area)], "item": answers}


def to_questionnaire_response(assessment: Assessment | Row[Any]) -> Resource:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(assessment.id),
        "meta": {"lastUpdated": instant(assessment.created_at)},
        "status": "completed",
        "subject": reference("Patient", assessment.child_id),
        "authored": instant(assessment.assessed_at),
        "author": reference("Organization", assessment.agency_id),
        "source": _source(assessment),
        # In the compass's order, not the stored dictionary's.
        "item": [
            _area_item(area.value, assessment.areas[area.value]) for area in Area if area.value in assessment.areas
        ],
    }


async def read(call: FhirCall, raw_id: str) -> Resource:
    return to_questionnaire_response(await fetch_visible(call.context, Assessment, "assessment", record_id(raw_id)))


async def _responses(_call: FhirCall, rows: list[Row[Any]]) -> list[Resource]:
    return [to_questionnaire_response(row) for row in rows]


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    return await search_records(
        call, query, "QuestionnaireResponse", "assessment", assessments.list_assessments, _responses
    )


VIEW = ResourceView(
    type="QuestionnaireResponse",
    scopes=("assessments:read",),
    twin="assessments-get, assessments-list",
    read=read,
    search=search,
    parameters=(PATIENT, SUBJECT),
    documentation="A needs-compass assessment: one item per assessed area (linkId the area code) with the rating "
    "(valueInteger 1–5), strengths and needs; author the assessing agency, source the perspective.",
)
