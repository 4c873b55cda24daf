"""Changes made around the database's guard are found by verification, at the first broken entry."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, make_url, select, text

from app.audit import verify as verify_module
from app.audit.chain import entry_hash
from app.audit.checkpoints import Checkpoint, sign_checkpoint, store_checkpoint
from app.audit.queries import chain, log
from app.audit.verify import run_verification
from app.db import create_sync_engine
from app.security.keys import KeyRing, SigningKey, generate_private_key_pem
from app.settings import Settings
from tests.support import World


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    return KeyRing.load(settings.signing_key_file)


@pytest.fixture
def chained(settings: Settings, keys: KeyRing, world: World) -> int:
    """A log of a dozen or so entries, all chained (no checkpoint yet). Returns the head's seq."""
    for index in range(8):
        world.agency("school", f"tamper-{index}")
    world.admin()
    result = run_verification(settings, keys, checkpoint=False)
    assert result.valid
    assert result.head_seq >= 10
    return result.head_seq


def entry_id(world: World, seq: int) -> int:
    return int(world.sql("SELECT entry_id FROM access_log_chain WHERE seq = :s", s=seq)[0].entry_id)


def unguarded(settings: Settings, *statements: str, **parameters: object) -> None:
    """Run statements with the append-only triggers out of the way, as an intruder would."""
    tables = (
        "access_log",
        "access_log_chain",
        "access_log_checkpoints",
        "access_log_tree_nodes",
        "access_log_tree_heads",
    )
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            for table in tables:
                if connection.dialect.name == "postgresql":
                    connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
                else:
                    connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
                    connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
            for statement in statements:
                connection.execute(text(statement), parameters)
    finally:
        engine.dispose()


def verify(settings: Settings, keys: KeyRing) -> tuple[bool, int | None, str]:
    result = run_verification(settings, keys)
    return result.valid, result.first_invalid_seq, result.reason or ""


def test_an_untouched_log_verifies(settings: Settings, keys: KeyRing, chained: int) -> None:
    result = run_verification(settings, keys)
    assert result.valid
    assert result.entries == result.head_seq == chained
    assert result.first_invalid_seq is None


def test_an_edited_entry_is_found(settings: Settings, keys: KeyRing, world: World, chained: int) -> None:
    unguarded(settings, "UPDATE access_log SET outcome = 'denied' WHERE id = :id", id=entry_id(world, 4))
    assert verify(settings, keys)[:2] == (False, 4)


def test_a_deleted_entry_is_found(settings: Settings, keys: KeyRing, world: World, chained: int) -> None:
    unguarded(settings, "DELETE FROM access_log WHERE id = :id", id=entry_id(world, 6))
    assert verify(settings, keys)[:2] == (False, 6)


def test_a_deleted_link_is_found(settings: Settings, keys: KeyRing, chained: int) -> None:
    unguarded(settings, "DELETE FROM access_log_chain WHERE seq = 6")
    assert verify(settings, keys)[:2] == (False, 6)


def test_two_swapped_entries_are_found(settings: Settings, keys: KeyRing, world: World, chained: int) -> None:
    first, second = entry_id(world, 3), entry_id(world, 5)
    columns = ["request_id", "client_id", "agency_id", "role", "action", "resource_type", "resource_id"]
    swaps = [
        f"UPDATE access_log SET {column} = (SELECT {column} FROM swap_tmp WHERE swap_tmp.id = "
        f"CASE access_log.id WHEN {first} THEN {second} ELSE {first} END) WHERE id IN ({first}, {second})"
        for column in columns
    ]
    unguarded(
        settings,
        f"CREATE TABLE swap_tmp AS SELECT * FROM access_log WHERE id IN ({first}, {second})",
        *swaps,
        "DROP TABLE swap_tmp",
    )
    assert verify(settings, keys)[:2] == (False, 3)


def test_a_removed_tail_is_found(settings: Settings, keys: KeyRing, chained: int) -> None:
    unguarded(settings, "DELETE FROM access_log_chain WHERE seq > :keep", keep=chained - 2)
    assert verify(settings, keys)[:2] == (False, chained - 1)


def test_an_entry_slipped_in_out_of_order_is_found(settings: Settings, keys: KeyRing, chained: int) -> None:
    unguarded(
        settings,
        "INSERT INTO access_log (txid, at, request_id, action, method, status_code, outcome) "
        "VALUES (-1, '2020-01-01 00:00:00.000000', 'forged', 'concerns-get', 'GET', 200, 'allowed')",
    )
    valid, _seq, reason = verify(settings, keys)
    assert not valid
    assert "not in the chain" in reason


def test_a_rewritten_and_rehashed_chain_is_found_by_the_signed_checkpoint(
    settings: Settings, keys: KeyRing, world: World, chained: int
) -> None:
    assert run_verification(settings, keys).checkpoint is not None  # signs the head
    world.agency("school", "after-checkpoint")
    assert run_verification(settings, keys, checkpoint=False).valid
    rewrite_and_rehash_from(settings, 5)  # the intruder alters entry 5 and recomputes every later hash
    valid, seq, reason = verify(settings, keys)
    assert not valid
    assert seq == chained
    assert "rewritten" in reason


def test_a_forged_checkpoint_is_found(settings: Settings, keys: KeyRing, chained: int) -> None:
    assert run_verification(settings, keys).valid
    forged_signature = "eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2lnbmF0dXJl"
    unguarded(settings, "UPDATE access_log_checkpoints SET signature = :s", s=forged_signature)
    valid, _seq, reason = verify(settings, keys)
    assert not valid
    assert "forged" in reason


def test_cli_verify_exits_1_with_the_first_broken_entry(settings: Settings, world: World, chained: int) -> None:
    unguarded(settings, "UPDATE access_log SET role = 'admin' WHERE id = :id", id=entry_id(world, 2))
    env = {
        "DATABASE_URL": settings.database_url,
        "SAMHANDLING_SIGNING_KEY_FILE": str(settings.signing_key_file),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["valid"] is False
    assert summary["first_invalid_seq"] == 2


def test_api_verify_reports_intact_and_signs_the_head(client: TestClient, world: World, chained: int) -> None:
    response = client.get("/api/v1/access-log/verify", headers=world.auditor())
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["first_invalid_seq"] is None
    assert body["checkpoint"]["seq"] == body["head_seq"] >= chained


def test_the_checkpoint_is_stored_in_a_transaction_that_writes_from_its_start(
    settings: Settings, keys: KeyRing, chained: int, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a transaction that reads and then writes fails at once, without waiting, when
    the running service commits in between (seen in CI as "database is locked"); one that holds
    the write lock from BEGIN waits its turn instead."""
    if dialect != "sqlite":
        pytest.skip("SQLite's locking")
    path = make_url(settings.database_url).database
    assert path is not None
    store = store_checkpoint
    seen: list[str] = []

    def store_while_probing(connection: Connection, checkpoint: Checkpoint) -> None:
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer, now
            seen.append("other writer got in")
            other.rollback()
        except sqlite3.OperationalError:
            seen.append("locked out")
        finally:
            other.close()
        store(connection, checkpoint)

    monkeypatch.setattr(verify_module, "store_checkpoint", store_while_probing)
    assert run_verification(settings, keys).checkpoint is not None
    assert seen == ["locked out"]


def rewrite_and_rehash_from(settings: Settings, seq: int) -> str:
    """Alter entry `seq` and recompute every later hash and the head's; returns the new head hash."""
    engine = create_sync_engine(settings)
    with engine.connect() as connection:
        rows = connection.execute(
            select(chain.c.seq, chain.c.prev_hash, chain.c.hash, log)
            .select_from(chain.join(log, log.c.id == chain.c.entry_id))
            .order_by(chain.c.seq)
        ).mappings()
        links = [dict(row) for row in rows]
    engine.dispose()
    statements: list[str] = []
    previous: str | None = None
    for link in links:
        if link["seq"] == seq:
            link["outcome"] = "denied"
            statements.append(f"UPDATE access_log SET outcome = 'denied' WHERE id = {link['id']}")
        if previous is not None:
            link["prev_hash"] = previous
        if link["seq"] >= seq:
            link["hash"] = entry_hash(link)
            statements.append(
                f"UPDATE access_log_chain SET prev_hash = '{link['prev_hash']}', hash = '{link['hash']}' "
                f"WHERE seq = {link['seq']}"
            )
        previous = link["hash"]
    statements.append(f"UPDATE access_log_head SET hash = '{previous}'")
    unguarded(settings, *statements)
    assert previous is not None
    return previous


def test_a_rewrite_with_checkpoints_re_signed_by_another_key_is_found(
    settings: Settings, keys: KeyRing, chained: int
) -> None:
    """The intruder rewrites the chain and replaces its checkpoint with one signed by a key of
    their own, labelled with that key's id: a checkpoint by an unknown key is a failure. (They
    also remove the Merkle tree and its signed heads, which would find the rewrite too.)"""
    first = run_verification(settings, keys).checkpoint
    assert first is not None
    head_hash = rewrite_and_rehash_from(settings, 5)
    intruder = KeyRing(current=SigningKey(generate_private_key_pem("RS256")))
    forged = sign_checkpoint(intruder, first.seq, head_hash)
    unguarded(
        settings,
        "DELETE FROM access_log_tree_heads",
        "DELETE FROM access_log_tree_nodes",
        "UPDATE access_log_head SET tree_size = 0",
        "DELETE FROM access_log_checkpoints",
        "INSERT INTO access_log_checkpoints (seq, hash, created_at, kid, signature) "
        "VALUES (:seq, :hash, :at, :kid, :sig)",
        seq=forged.seq,
        hash=forged.hash,
        at=forged.created_at.replace(tzinfo=None),
        kid=forged.kid,
        sig=forged.signature,
    )
    valid, seq, reason = verify(settings, keys)
    assert not valid
    assert seq == first.seq
    assert "does not know" in reason


def test_checkpoints_cannot_be_verified_without_the_keys(settings: Settings, keys: KeyRing, chained: int) -> None:
    assert run_verification(settings, keys).checkpoint is not None
    result = run_verification(settings, None, checkpoint=False)
    assert not result.valid
    assert "does not know" in (result.reason or "")
