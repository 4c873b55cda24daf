"""Checking the Merkle tree while verification walks the chain (app/audit/verify.py).

The walk hands every link's hash to `TreeCheck.add`, which rebuilds the tree from the chain in
O(log n) memory and holds to it (a) every signed tree head — its root must be the recomputed
root at its size and its signature a known key's (an unknown `kid` fails, it is never skipped;
without any keys only roots are compared), so a chain rewritten with recomputed hashes but the
old signatures is found — and (b) every
stored node, compared in chunks of a few thousand, so that the tree proofs are served from is
the chain's own. Nodes beyond the stored tree's size, or a stored size beyond the chain, are
found at the end.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, func, or_, select

from app.audit.merkle import Subtree, TreeBuilder, entry_leaves
from app.audit.tree_heads import SignedTreeHead, TreeHeadInvalid, verify_tree_head
from app.audit.tree_store import MIN_STORED_LEVEL, stored_node_count
from app.models.audit import AccessLogTreeNode
from app.models.base import table_of
from app.security.keys import KeyRing

CHUNK_NODES = 4096
# Leaves are hashed in batches, not one call per link: it halves what the tree adds to a walk.
BATCH_LEAVES = 8192
_nodes = table_of(AccessLogTreeNode)

Problem = tuple[int, str]  # the first broken seq, and what is wrong there


class TreeCheck:
    """`start`: the tree of the entries already verified (an incremental verification starts from
    a signed checkpoint's stored tree, app/audit/verify_start.py); only what grows on it is checked."""

    def __init__(
        self,
        connection: Connection,
        keys: KeyRing | None,
        stored_size: int,
        heads: dict[int, SignedTreeHead],
        start: TreeBuilder | None = None,
    ) -> None:
        self._connection = connection
        self._keys = keys
        self._stored_size = stored_size
        self._heads = heads
        self._builder = start or TreeBuilder(min_level=MIN_STORED_LEVEL)
        self._start = self._builder.size
        self._head_sizes = sorted((size for size in heads if size > self._start), reverse=True)  # the next one last
        self._next_head = self._head_sizes.pop() if self._head_sizes else -1
        self._batch: list[str] = []
        self._pending: dict[Subtree, bytes] = {}
        self.heads_verified = 0

    def add(self, seq: int, link_hash: str) -> Problem | None:
        """Entry `seq`'s hash, in order; a problem found so far, if any (found in batches, and at
        once at the size of a signed tree head)."""
        self._batch.append(link_hash)
        if seq == self._next_head or len(self._batch) >= BATCH_LEAVES:
            return self._flush()
        return None

    def root(self) -> str:
        self._flush()
        return self._builder.root().hex()

    def finish(self, last_seq: int) -> Problem | None:
        problem = self._flush() or self._compare_pending()
        if problem:
            return problem
        if self._stored_size > last_seq:
            covers = f"the stored Merkle tree covers {self._stored_size} entries"
            return last_seq + 1, f"{covers}; the chain ends at {last_seq}"
        if self._stored_nodes_beyond_start() != stored_node_count(self._stored_size, after=self._start):
            return self._stored_size + 1, "the stored Merkle tree holds nodes beyond its size"
        beyond = [size for size in self._heads if size > last_seq]
        if beyond:
            return last_seq + 1, f"a signed tree head names size {beyond[0]}; the chain ends at {last_seq}"
        return None

    def _flush(self) -> Problem | None:
        if not self._batch:
            return None
        batch, self._batch = self._batch, []
        for level, position, digest in self._builder.extend(entry_leaves(batch)):
            if (position + 1) << level <= self._stored_size:
                self._pending[(level, position)] = digest
        if len(self._pending) >= CHUNK_NODES:
            problem = self._compare_pending()
            if problem:
                return problem
        size = self._builder.size
        if size != self._next_head:
            return None
        self._next_head = self._head_sizes.pop() if self._head_sizes else -1
        return self._check_head(size, self._heads[size])

    def _stored_nodes_beyond_start(self) -> int:
        """Nodes reaching past the start: from a checkpoint, a count of the day's nodes, not of all."""
        if not self._start:
            return int(self._connection.execute(select(func.count()).select_from(_nodes)).scalar_one())
        # Node (L, p) ends at leaf (p+1)·2^L, past the start when p ≥ start >> L: a range of the
        # primary key per level (levels above 62 hold no node of a BigInteger-sized tree).
        reaching = [
            and_(_nodes.c.level == level, _nodes.c.position >= self._start >> level)
            for level in range(MIN_STORED_LEVEL, 63)
        ]
        return int(self._connection.execute(select(func.count()).where(or_(*reaching))).scalar_one())

    def check_start_head(self, head: SignedTreeHead) -> Problem | None:
        """The start tree against the signed tree head of its size (root and signature)."""
        return self._check_head(self._start, head)

    def _check_head(self, seq: int, head: SignedTreeHead) -> Problem | None:
        recomputed = self._builder.root().hex()
        if head.root_hash != recomputed:
            return seq, "the chain differs from a signed tree head: it was rewritten"
        if self._keys is None:
            return None  # no key to check the signature with: the root still had to match
        try:
            signed = verify_tree_head(self._keys, head.signature)
        except TreeHeadInvalid as error:
            return seq, f"a tree head's signature is not the service's: {error}"
        if (signed.tree_size, signed.root_hash, signed.timestamp) != (seq, recomputed, head.timestamp):
            return seq, "a tree head's signature is for another head: it was forged"
        self.heads_verified += 1
        return None

    def _compare_pending(self) -> Problem | None:
        """Stored nodes against the recomputed ones: one range per level, in one query."""
        if not self._pending:
            return None
        ranges: dict[int, tuple[int, int]] = {}
        for level, position in self._pending:
            low, high = ranges.get(level, (position, position))
            ranges[level] = (min(low, position), max(high, position))
        clauses = [
            and_(_nodes.c.level == level, _nodes.c.position.between(low, high)) for level, (low, high) in ranges.items()
        ]
        rows = self._connection.execute(select(_nodes.c.level, _nodes.c.position, _nodes.c.hash).where(or_(*clauses)))
        stored = {(level, position): bytes(digest) for level, position, digest in rows}
        pending, self._pending = self._pending, {}
        for (level, position), digest in sorted(pending.items(), key=lambda item: (item[0][1] + 1) << item[0][0]):
            if stored.get((level, position)) != digest:
                what = "lacks" if (level, position) not in stored else "differs from the chain at"
                return (position + 1) << level, f"the stored Merkle tree {what} node {level}/{position}"
        return None
