"""Where an incremental verification starts: the latest signed checkpoint that still holds.

A daily `samhandling audit verify` need not re-hash all of history: a checkpoint is the
service's signature over (seq, hash) of a head that an earlier verification walked in full, so
the walk may start right after it — provided the checkpoint is still true of the chain. Its
signature must be the service's (current, previous or retired key), the entry at its position
must still exist, hash (recomputed from its content) to the checkpoint's hash and carry it in its
link, and the stored Merkle tree at that size must have the root of the signed tree head taken
with the checkpoint. A checkpoint whose signature does not check is passed over (an older one,
or the genesis, is used); a validly signed one that the chain no longer matches is tampering.

What an incremental walk does not see — a change before the checkpoint that leaves the
checkpointed entry and its link alone (an older entry edited in place, an entry slipped in
before it in commit order, a stored tree node before it) — is what `--full` is for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, select

from app.audit.chain import values_hash, with_extensions
from app.audit.checkpoints import Checkpoint, signature_state
from app.audit.merkle import TreeBuilder
from app.audit.queries import CHAIN_TO_LOG, chain, log
from app.audit.tree_heads import SignedTreeHead
from app.audit.tree_store import TreeIncomplete, load_edge
from app.audit.tree_verify import Problem
from app.models.audit import GENESIS_HASH
from app.security.keys import KeyRing


@dataclass(frozen=True)
class Start:
    """The last entry taken as verified (seq 0: none, a walk from the genesis)."""

    seq: int = 0
    hash: str = GENESIS_HASH
    txid: int = 0  # its entry's place in commit order: entries after it are counted against the chain
    entry_id: int = 0
    checkpoint: Checkpoint | None = None
    tree_head: SignedTreeHead | None = None
    tree: TreeBuilder | None = None


GENESIS = Start()


def candidates(
    keys: KeyRing | None,
    checkpoints: Mapping[int, Checkpoint],
    heads: Mapping[int, SignedTreeHead],
    *,
    head_seq: int,
    tree_size: int,
) -> list[Checkpoint]:
    """Checkpoints a walk could start from, latest first: signed by the service, within the chain,
    with a signed tree head of the same size and a stored tree that reaches it."""
    usable = [
        checkpoint
        for seq, checkpoint in checkpoints.items()
        if 0 < seq <= min(head_seq, tree_size) and seq in heads and signature_state(keys, checkpoint) == "valid"
    ]
    return sorted(usable, key=lambda checkpoint: checkpoint.seq, reverse=True)


def start_at(
    connection: Connection, checkpoint: Checkpoint, head: SignedTreeHead, row: tuple[object, ...] | None
) -> Start | Problem:
    """The start at `checkpoint`, or the problem that shows the chain no longer matches it.

    `row` is the checkpointed link with its entry in canonical form (verify.py's walk SQL)."""
    seq = checkpoint.seq
    if row is None:
        return seq, f"entry {seq} of the chain, which a signed checkpoint names, is missing"
    if not row[18]:
        return seq, "the entry this link names is missing"
    if row[17] != checkpoint.hash:
        return seq, "the chain differs from a signed checkpoint: it was rewritten"
    if values_hash(with_extensions(row[:17], row[19:])) != row[17]:
        return seq, "the entry's content does not match its hash"
    place = connection.execute(
        select(log.c.txid, log.c.id).select_from(chain.join(log, CHAIN_TO_LOG)).where(chain.c.seq == seq)
    ).one()
    try:
        tree = load_edge(connection, seq)
    except TreeIncomplete as error:
        return seq, str(error)
    return Start(seq, checkpoint.hash, place.txid, place.id, checkpoint, head, tree)
