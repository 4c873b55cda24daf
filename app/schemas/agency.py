"""Agencies and clients as the admin API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.enums import AgencyKind, Role
from app.schemas.common import Name, ShortName, StrictInput
from app.security.identifiers import valid_organisation_number

AgencySlug = Annotated[
    str,
    StringConstraints(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"),
]


def _check_organisation_number(value: str) -> str:
    if not valid_organisation_number(value):
        raise ValueError("the organisation number's check digit is wrong")
    return value


OrganisationNumber = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{10}$"), AfterValidator(_check_organisation_number)
]
SchoolUnitCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
HsaId = Annotated[str, StringConstraints(pattern=r"^SE[0-9]{10}-[A-Za-z0-9]{1,31}$")]


class AgencyBase(BaseModel):
    kind: AgencyKind
    name: Name
    municipality: ShortName | None = None
    organisation_number: OrganisationNumber | None = Field(
        default=None, description="10 digits with a valid check digit."
    )
    school_unit_code: SchoolUnitCode | None = Field(
        default=None, description="Skolverket's 8-digit skolenhetskod (SS 12000)."
    )
    hsa_id: HsaId | None = Field(default=None, description="A health-care unit's HSA-id.")


class AgencyCreate(AgencyBase, StrictInput):
    id: AgencySlug = Field(description="A stable slug: lower-case letters, digits and '-'.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "norrskolan",
                    "kind": "school",
                    "name": "Norrskolan",
                    "municipality": "Lindesberg",
                    "school_unit_code": "12345678",
                }
            ]
        },
    )


class AgencyPublic(AgencyBase):
    id: str
    created_at: datetime


class ClientCreate(StrictInput):
    agency_id: AgencySlug
    role: Role
    name: Name

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"agency_id": "norrskolan", "role": "practitioner", "name": "Elevhälsosystemet"}]
        },
    )


class ClientPublic(BaseModel):
    client_id: str
    agency_id: str
    role: Role
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    platform: bool = Field(description="A platform admin manages every agency; other admins their own agency.")


class ClientCreated(ClientPublic):
    client_secret: str = Field(description="Shown only in this response; stored only as a slow hash.")
