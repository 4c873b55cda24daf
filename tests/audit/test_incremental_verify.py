"""Incremental verification: from the latest signed checkpoint that holds, only what follows it."""

from __future__ import annotations

import pytest

from app.audit.checkpoints import sign_checkpoint
from app.audit.verify import run_verification
from app.cli import main
from app.security.keys import KeyRing, SigningKey, generate_private_key_pem
from app.settings import Settings
from tests.audit.test_tamper import entry_id, unguarded
from tests.support import World


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    return KeyRing.load(settings.signing_key_file)


@pytest.fixture
def checkpointed(settings: Settings, keys: KeyRing, world: World) -> int:
    """A chained log with a signed checkpoint at its head, then a few entries after it. Returns
    the checkpoint's seq."""
    for index in range(4):
        world.agency("school", f"before-{index}")
    checkpoint = run_verification(settings, keys).checkpoint
    assert checkpoint is not None
    for index in range(3):
        world.agency("school", f"after-{index}")
    world.admin()
    assert run_verification(settings, keys, checkpoint=False).valid  # chains them, signs nothing
    return checkpoint.seq


def test_incremental_verify_checks_only_the_entries_after_the_checkpoint(
    settings: Settings, keys: KeyRing, checkpointed: int
) -> None:
    result = run_verification(settings, keys, incremental=True)
    assert result.valid, result.reason
    assert result.from_seq == checkpointed
    assert result.head_seq > checkpointed
    assert result.entries == result.head_seq - checkpointed
    assert result.checkpoints_verified == 1  # the start's own checkpoint and tree head held
    full = run_verification(settings, keys, checkpoint=False)
    assert (full.from_seq, full.entries) == (0, full.head_seq)
    assert full.tree_root == result.tree_root  # the tree grown from the stored edge is the whole tree's


def test_the_next_incremental_verify_starts_at_the_checkpoint_the_last_one_signed(
    settings: Settings, keys: KeyRing, world: World, checkpointed: int
) -> None:
    first = run_verification(settings, keys, incremental=True)
    assert first.checkpoint is not None
    world.agency("school", "next-day")
    second = run_verification(settings, keys, incremental=True)
    assert second.valid, second.reason
    assert second.from_seq == first.checkpoint.seq > checkpointed


def test_incremental_verify_finds_tampering_after_the_checkpoint(
    settings: Settings, keys: KeyRing, world: World, checkpointed: int
) -> None:
    unguarded(settings, "UPDATE access_log SET outcome = 'denied' WHERE id = :id", id=entry_id(world, checkpointed + 2))
    result = run_verification(settings, keys, incremental=True)
    assert not result.valid
    assert result.first_invalid_seq == checkpointed + 2


def test_incremental_verify_finds_the_checkpointed_entry_itself_edited(
    settings: Settings, keys: KeyRing, world: World, checkpointed: int
) -> None:
    unguarded(settings, "UPDATE access_log SET role = 'admin' WHERE id = :id", id=entry_id(world, checkpointed))
    result = run_verification(settings, keys, incremental=True)
    assert (result.valid, result.first_invalid_seq) == (False, checkpointed)
    assert "content does not match" in (result.reason or "")


def test_only_full_verify_finds_tampering_before_the_checkpoint(
    settings: Settings, world: World, checkpointed: int, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    unguarded(settings, "UPDATE access_log SET outcome = 'denied' WHERE id = :id", id=entry_id(world, 3))
    assert main(["audit", "verify", "--no-checkpoint"]) == 0  # the walk starts after the checkpoint
    assert f"after checkpoint {checkpointed}" in capsys.readouterr().err
    assert main(["audit", "verify", "--no-checkpoint", "--full"]) == 1
    captured = capsys.readouterr()
    assert "broken at entry 3" in captured.err
    assert "from the first entry" in captured.err


def test_a_checkpoint_whose_signature_fails_is_no_start_and_is_found(
    settings: Settings, keys: KeyRing, world: World, checkpointed: int
) -> None:
    """The latest checkpoint carries an intruder's signature under the service's kid: the walk
    starts from the one before it and, reaching it, reports it."""
    run_verification(settings, keys)  # a second checkpoint, at the head
    head = int(world.sql("SELECT max(seq) AS seq FROM access_log_checkpoints")[0].seq)
    intruder = SigningKey(generate_private_key_pem("ES256"))
    forged = sign_checkpoint(KeyRing(current=intruder), head, "f" * 64).signature
    unguarded(settings, "UPDATE access_log_checkpoints SET signature = :s WHERE seq = :q", s=forged, q=head)
    result = run_verification(settings, keys, incremental=True)
    assert result.from_seq == checkpointed
    assert (result.valid, result.first_invalid_seq) == (False, head)


def test_without_a_signed_tree_head_at_the_checkpoint_the_walk_starts_from_the_first_entry(
    settings: Settings, keys: KeyRing, checkpointed: int
) -> None:
    """A checkpoint from before the Merkle tree has no tree head: no tree to grow from, so all of
    it is walked (and still holds)."""
    unguarded(settings, "DELETE FROM access_log_tree_heads WHERE tree_size = :s", s=checkpointed)
    result = run_verification(settings, keys, incremental=True, checkpoint=False)
    assert result.valid, result.reason
    assert (result.from_seq, result.entries) == (0, result.head_seq)


def test_a_link_rehashed_before_the_checkpoint_is_found_by_the_tree_the_walk_starts_from(
    settings: Settings, keys: KeyRing, checkpointed: int
) -> None:
    """The tree at the checkpoint is read from stored nodes and the links' hashes, and must have
    the signed tree head's root: a link before the checkpoint with another hash fails it."""
    assert 1 < checkpointed < 16  # below one stored block (tree_store.py): the tree is hashed from the links
    unguarded(settings, "UPDATE access_log_chain SET hash = :h WHERE seq = 1", h="f" * 64)
    result = run_verification(settings, keys, incremental=True)
    assert (result.valid, result.first_invalid_seq) == (False, checkpointed)
    assert "tree head" in (result.reason or "")
