"""The FHIR resource types this view serves — the router and the CapabilityStatement read this.

Adding a type is a mapping module under `resources/` (from the services' results, through
`fetch_visible` and the services' lists) and its VIEW appended here; the log's resource type
then maps to the FHIR type in resources/audit_event.py (`FHIR_TYPES`).
"""

from __future__ import annotations

from app.fhir.resources import (
    audit_event,
    care_plan,
    care_team,
    consent,
    goal,
    organization,
    patient,
    questionnaire_response,
    task,
)
from app.fhir.views import ResourceView

VIEWS: tuple[ResourceView, ...] = (
    patient.VIEW,
    organization.VIEW,
    task.VIEW,
    consent.VIEW,
    care_team.VIEW,
    care_plan.VIEW,
    goal.VIEW,
    questionnaire_response.VIEW,
    audit_event.VIEW,
)
