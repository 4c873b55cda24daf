"""Children: register-or-find by personal identity number."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.schemas.common import StrictInput
from app.security.identifiers import PersonalIdentityNumber

# YYYYMMDD-NNNN with a real month and a day of 01–31, or 61–91 (samordningsnummer: day + 60). The
# server also checks the calendar (no 30 February), that the date is not in the future and the
# Luhn digit, which a pattern cannot say: such numbers are 422 (api-contract.md).
PERSONNUMMER_PATTERN = r"^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])-?[0-9]{4}$"


class ChildRegister(StrictInput):
    personnummer: Annotated[str, StringConstraints(pattern=PERSONNUMMER_PATTERN)] = Field(
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
