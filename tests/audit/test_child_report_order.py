"""A child's access report pages in chain order, read in commit order from its own index.

The report orders by the entries' (txid, id) (app/audit/reports.py) rather than by the chain's
`seq`, so that a hot child's page is one index range; these hold it to the chain's order, over
entries written in separate transactions (separate txids on PostgreSQL), page by page.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.audit.verify import run_verification
from app.settings import Settings
from tests.support import Domain, World


def pages(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[int]:
    seqs: list[int] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get(path, params=query, headers=headers).json()
        seqs += [item["seq"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seqs


def test_a_childs_report_pages_in_chain_order(
    settings: Settings, client: TestClient, world: World, domain: Domain
) -> None:
    school, other = world.agency("school"), world.agency("school")
    child, elsewhere = domain.child(school), domain.child(other)
    for _ in range(3):  # the child's entries interleaved with another child's, one transaction each
        concern = domain.concern(school, child)
        domain.concern(other, elsewhere)
        client.get(f"/api/v1/concerns/{concern['id']}", headers=world.headers(school))
    assert run_verification(settings, None, checkpoint=False).head_seq > 0  # chain what is pending
    auditor = world.auditor()
    report = pages(client, f"/api/v1/children/{child}/access-report", auditor, limit=2)
    listed = pages(client, "/api/v1/access-log", auditor, child_id=child, limit=3)
    truth = [
        int(row.seq)
        for row in world.sql(
            "SELECT c.seq FROM access_log_chain c JOIN access_log e ON e.id = c.entry_id "
            "WHERE e.child_id = :child ORDER BY c.seq",
            child=child.replace("-", "") if settings.database_url.startswith("sqlite") else child,
        )
    ]
    assert len(report) >= 6
    assert report == sorted(set(report))  # ascending, no page repeats an entry
    assert report == [seq for seq in truth if seq <= report[-1]]  # none skipped (reads add entries as we go)
    assert listed[: len(report)] == report
