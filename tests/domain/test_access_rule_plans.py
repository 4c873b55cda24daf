"""The access rule's SQL stays cheap to run: compiled once in Python, planned once in PostgreSQL.

Both are easy to lose without any test failing for correctness — a custom SQL element without a
cache key makes SQLAlchemy compile every request's statement anew; a bound "now" makes
PostgreSQL re-plan the rule on every execution once the tables have statistics (at the scale of
bench/, which measures it) — so the SQL's form is checked here directly.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from app.models.assessment import Assessment
from app.models.concern import Concern
from app.models.consent import Consent
from app.models.plan import Plan
from app.models.team import Team
from app.security.access import caller_rule, table_for
from app.security.records import _record_with_visibility


@pytest.mark.parametrize(
    ("model", "resource_type"),
    [(Concern, "concern"), (Consent, "consent"), (Assessment, "assessment"), (Team, "team"), (Plan, "plan")],
)
def test_statements_with_the_callers_rule_have_a_cache_key(model: type[SQLModel], resource_type: str) -> None:
    a_page = select(table_for(resource_type)).where(caller_rule(resource_type))
    assert a_page._generate_cache_key() is not None
    for for_update in (False, True):
        assert _record_with_visibility(model, resource_type, for_update)._generate_cache_key() is not None


def test_the_rule_reads_the_statement_time_on_postgresql_and_the_bound_time_elsewhere() -> None:
    statement = _record_with_visibility(Concern, "concern", False)
    # SQLAlchemy's `postgresql.dialect` alias is untyped.
    on_postgresql = str(statement.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    on_sqlite = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True}))
    assert "valid_from <= statement_timestamp()" in on_postgresql
    assert "%(now)s" not in on_postgresql
    assert "valid_from <= ?" in on_sqlite
