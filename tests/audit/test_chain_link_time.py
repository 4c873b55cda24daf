"""The chain's links carry their entry's time (revision 0029): joins read one partition per link,
and verification still tells a moved entry, an edited time and a link's wrong time apart."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from app.audit.queries import chained_entries
from app.audit.sequencer import chain_pending
from app.db import sync_connection
from app.security.keys import KeyRing
from app.settings import Settings
from tests.audit.test_tamper import chained, entry_id, keys, unguarded, verify
from tests.support import World

__all__ = ["chained", "keys"]  # the fixtures, used by name


def test_every_link_has_its_entrys_time(settings: Settings, world: World, chained: int) -> None:
    rows = world.sql(
        "SELECT count(*) AS n FROM access_log_chain c JOIN access_log e ON e.id = c.entry_id WHERE c.at = e.at"
    )
    assert rows[0].n == chained


def test_the_chain_joins_the_log_by_id_and_time(settings: Settings) -> None:
    sql = str(chained_entries().compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "access_log.id = access_log_chain.entry_id AND access_log.at = access_log_chain.at" in sql


def test_an_entry_whose_time_was_edited_is_found_as_edited(
    settings: Settings, keys: KeyRing, world: World, chained: int, dialect: str
) -> None:
    earlier = "at - interval '1 second'" if dialect == "postgresql" else "'2001' || substr(at, 5)"
    unguarded(settings, f"UPDATE access_log SET at = {earlier} WHERE id = :id", id=entry_id(world, 3))
    assert verify(settings, keys) == (False, 3, "the entry's content does not match its hash")


def test_a_links_wrong_time_is_found(settings: Settings, keys: KeyRing, world: World, chained: int) -> None:
    unguarded(settings, "UPDATE access_log_chain SET at = NULL WHERE seq = 5")
    assert verify(settings, keys) == (False, 5, "the link's time is not its entry's")


def test_links_chained_by_the_sequencer_after_migration_have_a_time(settings: Settings, world: World) -> None:
    world.agency("school", "after")
    with sync_connection(settings) as connection:
        with connection.begin():
            chain_pending(connection, wait=True)
        missing = connection.execute(text("SELECT count(*) FROM access_log_chain WHERE at IS NULL")).scalar_one()
    assert missing == 0
