"""The RFC 9457 problem document, as OpenAPI declares it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description='Where: e.g. ["body", "areas", 0].')
    msg: str


class Problem(BaseModel):
    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str = Field(description="What is wrong, for a human integrator.")
    request_id: str | None = Field(description="Quote this when asking about the request.")
    errors: list[ValidationIssue] | None = Field(default=None, description="Validation errors (422).")


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2, plus the problem fields every error here carries."""

    error: str = Field(
        description="invalid_request, invalid_client, invalid_grant, unsupported_grant_type, invalid_scope"
    )
    error_description: str
    type: str
    title: str
    status: int
    detail: str
    request_id: str | None
