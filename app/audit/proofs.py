"""What the tree-head and proof endpoints serve: the stored tree's root and RFC 9162 proofs.

Sizes count entries (leaves); entry `seq` is leaf index `seq - 1`. Hashes are lower-case hex.
A size beyond the stored tree is refused rather than waited for: the tree grows with the chain,
in the sequencer's transaction, but on a log older than the tree it is behind until the
sequencer has built it, and a witness asks again. Every function reads in the caller's transaction; nodes are never
changed once written, so a proof is consistent even while the sequencer extends the tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from app.audit.merkle import aligned_pieces, consistency_ranges, fold, inclusion_ranges
from app.audit.tree_heads import TreeHead
from app.audit.tree_store import range_hashes, read_subtrees
from app.models.audit import ChainHead
from app.models.base import table_of

_head = table_of(ChainHead)


class ProofRequestInvalid(ValueError):
    """The sizes or seq asked for do not name a proof the current tree can give (→ 422)."""


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    leaf_index: int  # seq - 1
    tree_size: int
    leaf_hash: str  # SHA-256(0x00 ‖ the entry's hash as 32 bytes)
    path: list[str]  # RFC 9162 §2.1.3.1 PATH, the leaf's sibling first


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    path: list[str]  # RFC 9162 §2.1.4.1 PROOF; empty when first == second


def stored_tree_size(connection: Connection) -> int:
    return int(connection.execute(select(_head.c.tree_size).where(_head.c.id == 1)).scalar_one())


def tree_head(connection: Connection) -> TreeHead:
    """The stored tree's current size and root (unsigned: sign with tree_heads.sign_tree_head)."""
    size = stored_tree_size(connection)
    return TreeHead(size, root_at(connection, size))


def root_at(connection: Connection, size: int) -> str:
    """MTH of the first `size` entries, from the stored tree (size ≤ its size)."""
    pieces = aligned_pieces(0, size)
    hashes = read_subtrees(connection, pieces)
    return fold([hashes[piece] for piece in pieces]).hex()


def inclusion_proof(connection: Connection, seq: int, tree_size: int) -> InclusionProof:
    current = stored_tree_size(connection)
    if tree_size < 1:
        raise ProofRequestInvalid("tree_size must be at least 1")
    if tree_size > current:
        raise ProofRequestInvalid(f"tree_size {tree_size} is beyond the current tree ({current} entries)")
    if not 1 <= seq <= tree_size:
        raise ProofRequestInvalid(f"seq must lie within the tree: 1 … {tree_size}")
    # The leaf itself is the one-leaf range [seq - 1, seq): read with the path, in the same queries.
    leaf, *path = range_hashes(connection, [(seq - 1, seq), *inclusion_ranges(seq - 1, tree_size)])
    return InclusionProof(seq, seq - 1, tree_size, leaf.hex(), [digest.hex() for digest in path])


def consistency_proof(connection: Connection, first: int, second: int) -> ConsistencyProof:
    current = stored_tree_size(connection)
    if first < 1:
        raise ProofRequestInvalid("first must be at least 1: every log extends the empty one")
    if first > second:
        raise ProofRequestInvalid(f"first ({first}) must not exceed second ({second})")
    if second > current:
        raise ProofRequestInvalid(f"second {second} is beyond the current tree ({current} entries)")
    path = range_hashes(connection, consistency_ranges(first, second))
    return ConsistencyProof(first, second, [digest.hex() for digest in path])
