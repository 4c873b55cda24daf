"""Children: register-or-find by personal identity number."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.schemas.common import StrictInput
from app.security.identifiers import PersonalIdentityNumber


class ChildRegister(StrictInput):
    personnummer: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}-?[0-9]{4}$")] = Field(
        description="12 digits, YYYYMMDDNNNN, optionally with '-' before the last four; "
        "a samordningsnummer has the day + 60. The check digit must be right."
    )

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"personnummer": "20150612-2389"}]})

    @field_validator("personnummer")
    @classmethod
    def _valid_number(cls, value: str) -> str:
        return PersonalIdentityNumber.parse(value).digits


class ChildPublic(BaseModel):
    id: uuid.UUID
    personnummer: str = Field(description="12 digits, normalised (no '-').")
    birth_date: date
