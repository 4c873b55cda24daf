"""A read-only HL7 FHIR R4 view of the same records, under the same rule and log (contract v1.1).

Nothing here reads the database its own way: each mapping module in `resources/` takes what the
JSON API's services and access path return (app/security/records.py `fetch_visible`, the services' list
functions, which fold the access rule of app/security/access.py into their queries) and reshapes
it into a FHIR resource. Routes are `GuardedRoute`s like every `/api/v1` route, and they report
what they touched through the same `RequestContext.audit` calls as their JSON twins, so the
pipeline (app/http/pipeline.py) logs a FHIR read exactly as it logs the JSON read.

- `registry.py`: the resource types served, one `ResourceView` per mapping module; the router
  and the CapabilityStatement are both built from it, so they cannot disagree.
- `router.py`: `GET /fhir/R4/metadata`, `GET /fhir/R4/{Type}/{id}`, `GET /fhir/R4/{Type}?…`.
- `search.py`: search parameters, `_count` and the opaque `_cursor`, searchset Bundles.
- `outcome.py`: every error under /fhir as an OperationOutcome, with the JSON API's status code.
"""
