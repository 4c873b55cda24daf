"""Compass assessments and the compass view of a child."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from app.enums import Area, Perspective
from app.schemas.common import Note, StrictInput, Timestamp


def _integral_number(value: Any) -> Any:
    """`2.0` is the integer 2 in JSON Schema (and so in the spec); text and booleans stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Rating = Annotated[
    int,
    Field(strict=True, ge=1, le=5, description="1 = not at all well … 5 = very well."),
    BeforeValidator(_integral_number),
]


def _one_of_them_given(fields: list[str], kind: dict[str, Any]) -> list[Any]:
    """`anyOf` branches saying that at least one of `fields` is present and not null.

    So the spec refuses what the validators refuse (an empty or all-null object), and a body the
    spec allows is accepted; `minProperties` alone would still allow `{"rating": null}`.
    """
    return [{"required": [name], "properties": {name: kind[name]}} for name in fields]


# The branches restate the constraints: a generator that merges a branch into the object may
# otherwise take the branch's bare type for the whole of the property (a rating of 576).
_RATING = {"type": "integer", "minimum": 1, "maximum": 5}
_AREA = {"$ref": "#/components/schemas/AreaAssessment"}


class AreaAssessment(StrictInput):
    rating: Rating | None = None
    strengths: Note | None = None
    needs: Note | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "minProperties": 1,
            "anyOf": _one_of_them_given(
                ["rating", "strengths", "needs"],
                {"rating": _RATING, "strengths": {"type": "string"}, "needs": {"type": "string"}},
            ),
        },
    )

    @model_validator(mode="after")
    def _something_said(self) -> AreaAssessment:
        if self.rating is None and self.strengths is None and self.needs is None:
            raise ValueError("each area needs a rating, strengths or needs")
        return self


class CompassAreas(StrictInput):
    """The eight wellbeing areas (GIRFEC SHANARRI); give those you assessed."""

    safe: AreaAssessment | None = None
    healthy: AreaAssessment | None = None
    achieving: AreaAssessment | None = None
    nurtured: AreaAssessment | None = None
    active: AreaAssessment | None = None
    respected: AreaAssessment | None = None
    responsible: AreaAssessment | None = None
    included: AreaAssessment | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "minProperties": 1,
            "anyOf": _one_of_them_given([area.value for area in Area], {area.value: _AREA for area in Area}),
        },
    )

    @model_validator(mode="after")
    def _at_least_one(self) -> CompassAreas:
        if not self.assessed():
            raise ValueError("at least one area is needed")
        return self

    def assessed(self) -> dict[str, AreaAssessment]:
        return {area.value: value for area in Area if (value := getattr(self, area.value)) is not None}


class AssessmentCreate(StrictInput):
    child_id: uuid.UUID
    perspective: Perspective = Field(description="Whose view this is: the child's, a guardian's or a professional's.")
    assessed_at: Timestamp | None = Field(default=None, description="Default: now. Not in the future.")
    areas: CompassAreas

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "child_id": "6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10",
                    "perspective": "professional",
                    "assessed_at": "2026-11-21T10:00:00+01:00",
                    "areas": {
                        "safe": {"rating": 2, "needs": "Otrygg hemsituation."},
                        "achieving": {"rating": 4, "strengths": "Trivs med matematik."},
                        "included": {"strengths": "Har två nära vänner i klassen."},
                    },
                }
            ]
        },
    )


class AssessmentPublic(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    agency_id: str
    perspective: Perspective
    assessed_at: datetime
    areas: dict[Area, AreaAssessment]
    created_at: datetime


class CompassArea(BaseModel):
    latest: int = Field(description="The latest visible rating.")
    previous: int | None = Field(description="The one before it; null when there is one rating.")
    change: int | None = Field(description="latest − previous; null when there is one rating.")
    assessed_at: datetime = Field(description="When the latest rating was made.")
    agency_id: str = Field(description="The agency whose assessment holds the latest rating.")


class Compass(BaseModel):
    child_id: uuid.UUID
    perspectives: dict[Perspective, dict[Area, CompassArea]] = Field(
        description="Only areas and perspectives with a rating the caller may see."
    )
