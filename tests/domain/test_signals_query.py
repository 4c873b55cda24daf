"""The signals' queries read one child's consents, never every active consent.

Under the access rule's OR, PostgreSQL may evaluate a consent test once, as a hashed subplan,
instead of once per row. Correlated on the record's `child_id` column, that subplan has no child
to filter on and hashes every active consent of every child (a concern write with signals on
cost 65–175 ms of database time at 22 000 consents). Bound to the `child_id` parameter, the same
subplan reads the child's consent parties by index. The queries must keep that binding.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Select
from sqlalchemy.dialects import postgresql

from app.services import signals

QUERIES: dict[str, Select[Any]] = {
    "receiver concerns": signals._RECEIVER_CONCERNS,
    "receiver assessments": signals._RECEIVER_ASSESSMENTS,
    "caller concerns": signals._CALLER_CONCERNS,
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_consent_test_is_bound_to_the_child_parameter(name: str) -> None:
    sql = str(QUERIES[name].compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    consent_tests = re.findall(r"caller_party\.child_id = (%\(child_id\)s|[\w.]+)", sql)
    assert consent_tests, "the query no longer tests consents: is this still the signals' query?"
    assert set(consent_tests) == {"%(child_id)s"}, consent_tests
