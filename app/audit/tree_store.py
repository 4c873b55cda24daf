"""The Merkle tree as stored: aligned subtree hashes, extended by the sequencer, read by proofs.

`access_log_tree_nodes` holds every complete, aligned subtree from MIN_STORED_LEVEL up, and
`access_log_head.tree_size` says how many leaves the stored tree covers. Any subtree a root or
a proof needs is either such a node or lies inside one block of 2^MIN_STORED_LEVEL leaves,
whose leaves are hashed from `access_log_chain.hash`. So a root costs at most log2(n) node
reads plus one block of chain rows, and a proof about twice that, each in one or two queries.

Why not store every level? Level 0 repeats the chain's hashes, and levels 0–3 are 15/16 of all
nodes: storing from level 4 up writes one node row per 8 entries instead of two per entry,
which keeps the sequencer's pass as fast as it was (bench/merkle.py), for the price of hashing
at most 15 + 15 leaves per proof.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, insert, or_, select

from app.audit.merkle import (
    LeafRange,
    Subtree,
    TreeBuilder,
    aligned_pieces,
    entry_leaf,
    entry_leaves,
    fold,
    node_hash,
)
from app.models.audit import AccessLogChainLink, AccessLogTreeNode
from app.models.base import table_of

MIN_STORED_LEVEL = 4
# A sequencer pass adds at most this many old entries to the tree when catching up (a log that
# predates the tree): ~0.1 s of work, so that passes stay short while the tree is built.
CATCH_UP_LEAVES = 20_000

logger = logging.getLogger(__name__)
_nodes = table_of(AccessLogTreeNode)
_chain = table_of(AccessLogChainLink)


class TreeIncomplete(RuntimeError):
    """A node or chain hash the stored tree should have is missing (a damaged database)."""


def read_subtrees(connection: Connection, subtrees: Iterable[Subtree]) -> dict[Subtree, bytes]:
    """The hashes of aligned subtrees: stored nodes, or hashed from the chain's leaves."""
    wanted = set(subtrees)
    stored = [subtree for subtree in wanted if subtree[0] >= MIN_STORED_LEVEL]
    found: dict[Subtree, bytes] = {}
    if stored:
        parameters: dict[str, int] = {}
        for i, (level, position) in enumerate(stored):
            parameters[f"l{i}"], parameters[f"p{i}"] = level, position
        rows = connection.execute(_select_nodes(len(stored)), parameters)
        found = {(row.level, row.position): bytes(row.hash) for row in rows}
    small = [subtree for subtree in wanted if subtree[0] < MIN_STORED_LEVEL]
    leaves = _read_leaves(connection, {index for level, position in small for index in _leaf_indices(level, position)})
    for level, position in small:
        block = [leaves[index] for index in _leaf_indices(level, position) if index in leaves]
        if len(block) == 1 << level:
            found[(level, position)] = _hash_block(block)
    missing = wanted - found.keys()
    if missing:
        raise TreeIncomplete(f"the stored Merkle tree lacks subtrees {sorted(missing)[:5]}")
    return found


def range_hashes(connection: Connection, ranges: Sequence[LeafRange]) -> list[bytes]:
    """The MTH of each leaf range, in one read of nodes and one of chain hashes."""
    pieces = [aligned_pieces(start, end) for start, end in ranges]
    hashes = read_subtrees(connection, (piece for range_pieces in pieces for piece in range_pieces))
    return [fold([hashes[piece] for piece in range_pieces]) for range_pieces in pieces]


def load_edge(connection: Connection, size: int) -> TreeBuilder:
    """The stored tree of `size` leaves, ready to grow: its right edge, reporting stored levels."""
    pieces = aligned_pieces(0, size)
    hashes = read_subtrees(connection, pieces)
    return TreeBuilder(size, [hashes[piece] for piece in pieces], min_level=MIN_STORED_LEVEL)


def extend_tree(connection: Connection, tree_size: int, chain_size: int, new_hashes: Sequence[str]) -> int:
    """Grow the stored tree in the caller's transaction; returns its new size.

    `new_hashes` are the chain hashes of entries chain_size+1 … just linked by the caller. When
    the tree is level with the chain they are its next leaves; when it is behind (a log from
    before the tree), up to CATCH_UP_LEAVES are read from the chain instead and the new ones
    wait for a later pass. A damaged stored tree (a node missing) is left as it is, and logged:
    the chain must go on growing, and verification reports the damage.
    """
    if tree_size == chain_size:
        hashes: Sequence[str] = new_hashes
    else:
        hashes = (
            connection.execute(
                select(_chain.c.hash).where(_chain.c.seq > tree_size).order_by(_chain.c.seq).limit(CATCH_UP_LEAVES)
            )
            .scalars()
            .all()
        )
    if not hashes:
        return tree_size
    try:
        builder = load_edge(connection, tree_size)
    except TreeIncomplete as error:
        logger.error("the Merkle tree is not extended: %s", error)
        return tree_size
    completed = builder.extend(entry_leaves(hashes))
    if completed:
        rows: list[dict[str, Any]] = [
            {"level": level, "position": position, "hash": digest} for level, position, digest in completed
        ]
        connection.execute(insert(_nodes), rows)
    return builder.size


def stored_node_count(size: int, *, after: int = 0) -> int:
    """How many nodes a stored tree of `size` leaves has (only those reaching past leaf `after`)."""
    return sum(max(0, (size >> level) - (after >> level)) for level in range(MIN_STORED_LEVEL, size.bit_length()))


@functools.lru_cache(maxsize=256)
def _select_nodes(count: int) -> Select[tuple[int, int, bytes]]:
    """Nodes by (level, position) pairs, as OR-ed equalities: SQLite scans the whole table for a
    row-value IN list. Built once per count, since building the expression costs more than the
    query (about 1 ms for a proof's thirty pairs)."""
    pairs = [and_(_nodes.c.level == bindparam(f"l{i}"), _nodes.c.position == bindparam(f"p{i}")) for i in range(count)]
    return select(_nodes.c.level, _nodes.c.position, _nodes.c.hash).where(or_(*pairs))


def _leaf_indices(level: int, position: int) -> range:
    return range(position << level, (position + 1) << level)


def _read_leaves(connection: Connection, indices: set[int]) -> dict[int, bytes]:
    if not indices:
        return {}
    # Leaf i is entry seq i + 1.
    rows = connection.execute(select(_chain.c.seq, _chain.c.hash).where(_chain.c.seq.in_([i + 1 for i in indices])))
    return {row.seq - 1: entry_leaf(row.hash) for row in rows}


def _hash_block(leaves: list[bytes]) -> bytes:
    """MTH of a complete subtree of 2^L leaves (L < MIN_STORED_LEVEL), pairwise upwards."""
    while len(leaves) > 1:
        leaves = [node_hash(leaves[i], leaves[i + 1]) for i in range(0, len(leaves), 2)]
    return leaves[0]
