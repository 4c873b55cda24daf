"""One mapping module per FHIR resource type; each exports its `VIEW` (see app/fhir/views.py)."""
