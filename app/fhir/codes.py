"""Identifier systems and code systems the FHIR view uses.

Swedish national identifiers use their registered OIDs (as HL7 Sweden's base profiles do). Where
this service's own closed sets have no national code system (wellbeing areas, record types, team
roles, agency kinds), the codes are the JSON API's own, under this service's URNs — the same
namespace as its problem types (`urn:samhandling:problem:`).
"""

from __future__ import annotations

PERSONNUMMER = "urn:oid:1.2.752.129.2.1.3.1"
SAMORDNINGSNUMMER = "urn:oid:1.2.752.129.2.1.3.3"
ORGANISATION_NUMBER = "urn:oid:2.5.4.97"  # X.520 organizationIdentifier, as HL7 Sweden uses it
HSA_ID = "urn:oid:1.2.752.29.4.19"
# Skolverket's skolenhetskod has no published OID or canonical URI that we could find.
SCHOOL_UNIT_CODE = "urn:samhandling:identifier:school-unit-code"

V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"

_LOCAL = "urn:samhandling:codesystem:"
AREA = _LOCAL + "area"
RECORD_TYPE = _LOCAL + "record-type"
TEAM_ROLE = _LOCAL + "team-role"
AGENCY_KIND = _LOCAL + "agency-kind"
CONCERN_KIND = _LOCAL + "concern-kind"
DECISION = _LOCAL + "decision"  # social services' decision on a mandatory report (återkoppling)
TASK_INPUT = _LOCAL + "task-input"
PLAN_KIND = _LOCAL + "plan-kind"  # child_plan (barnets plan), sip (samordnad individuell plan)
GOAL_PROGRESS = _LOCAL + "goal-progress"  # a review's own progress codes, beside FHIR's achievement
PROBLEM = _LOCAL + "problem"
CLIENT_ID = "urn:samhandling:identifier:client-id"
REQUEST_ID = "urn:samhandling:identifier:request-id"
RECORD_ID = "urn:samhandling:identifier:record:"  # + the log's resource type

_EXTENSION = "urn:samhandling:fhir:StructureDefinition:"
CONFIRMED_AT = _EXTENSION + "consent-party-confirmed-at"
WITHDRAWN_AT = _EXTENSION + "consent-withdrawn-at"
NEXT_REVIEW_AT = _EXTENSION + "plan-next-review-at"

# FHIR's own code systems where the plan's codes have a counterpart.
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
