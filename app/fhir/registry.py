"""The FHIR resource types this view serves — the router and the CapabilityStatement read this.

The child's plan (issue 20) will add `CarePlan` and `Goal`: a mapping module each under
`resources/` (from the plans service's results, through `fetch_visible` with record type
`plans`) and its VIEW appended here; the log's `plan` resource type then maps to `CarePlan` in
resources/audit_event.py (`FHIR_TYPES`). Until the plans exist they are neither routed nor listed.
"""

from __future__ import annotations

from app.fhir.resources import audit_event, care_team, consent, organization, patient, questionnaire_response, task
from app.fhir.views import ResourceView

VIEWS: tuple[ResourceView, ...] = (
    patient.VIEW,
    organization.VIEW,
    task.VIEW,
    consent.VIEW,
    care_team.VIEW,
    questionnaire_response.VIEW,
    audit_event.VIEW,
)
