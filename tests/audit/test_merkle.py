"""The Merkle tree over the log: RFC 9162 roots and proofs, as stored, grown and verified.

Every proof the app makes is checked by the independent verifier below — hashlib and the RFC's
recursive definitions only, nothing from app/ — so a mistake shared by the app's prover and
its own verifier cannot pass. Large trees are built in memory; a few hundred entries go
through the database, on both dialects.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from jose import jwk, jws
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import DBAPIError

from app.audit import merkle, sequencer, tree_store
from app.audit.proofs import ProofRequestInvalid, consistency_proof, inclusion_proof, root_at, tree_head
from app.audit.queries import log
from app.audit.sequencer import chain_pending
from app.audit.tree_heads import TreeHead, TreeHeadInvalid, sign_tree_head, verify_tree_head
from app.audit.verify import run_verification
from app.db import create_sync_engine
from app.models.base import utcnow
from app.security.keys import KeyRing, SigningKey, generate_private_key_pem
from app.settings import Settings

# ---------------------------------------------------------------------------------------------
# The independent verifier (RFC 9162 §2.1)


def ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_entry_leaf(entry_hash_hex: str) -> bytes:
    """The documented leaf of an entry: its chain hash as 32 raw bytes, hashed as a leaf."""
    return ref_leaf(bytes.fromhex(entry_hash_hex))


def ref_split(size: int) -> int:
    k = 1
    while k * 2 < size:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (§2.1.1), recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = ref_split(len(leaves))
    return ref_node(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def _path_root(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """The root PATH(index, D[size]) leads to, by its definition (§2.1.3.1); eats `path` from the end."""
    if size == 1:
        return leaf
    if not path:
        return None
    k, sibling = ref_split(size), path.pop()
    if index < k:
        inner = _path_root(leaf, index, k, path)
        return None if inner is None else ref_node(inner, sibling)
    inner = _path_root(leaf, index - k, size - k, path)
    return None if inner is None else ref_node(sibling, inner)


def ref_inclusion_holds(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    remaining = list(path)
    return _path_root(leaf, index, size, remaining) == root and not remaining


def _subproof_roots(m: int, size: int, whole: bool, old_root: bytes, proof: list[bytes]) -> tuple[bytes, bytes] | None:
    """(old, new) subtree roots that SUBPROOF(m, D[size], whole) = `proof` implies (§2.1.4.1)."""
    if m == size:
        if whole:
            return old_root, old_root  # the old tree itself, whose root the verifier holds
        return (proof[-1], proof.pop()) if proof else None
    if not proof:
        return None
    k, outer = ref_split(size), proof.pop()
    if m <= k:
        inner = _subproof_roots(m, k, whole, old_root, proof)
        return None if inner is None else (inner[0], ref_node(inner[1], outer))
    inner = _subproof_roots(m - k, size - k, False, old_root, proof)
    return None if inner is None else (ref_node(outer, inner[0]), ref_node(outer, inner[1]))


def ref_consistency_holds(first: int, second: int, old: bytes, new: bytes, proof: Sequence[bytes]) -> bool:
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and old == new
    remaining = list(proof)
    return _subproof_roots(first, second, True, old, remaining) == (old, new) and not remaining


def unhex(hashes: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(digest) for digest in hashes]


# ---------------------------------------------------------------------------------------------
# In memory: the published vectors, random sizes, wrong proofs

# Certificate Transparency's test tree (transparency-dev/merkle, proof/verify_test.go).
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {  # (leaf index, tree size): path
    (0, 8): ["96a296d2", "5f083f0a", "6b47aaf2"],
    (5, 8): ["bc1a0643", "ca854ea1", "d37ee418"],
    (2, 3): ["fac54203"],
    (1, 5): ["6e340b9c", "5f083f0a", "bc1a0643"],
}
CT_CONSISTENCY = {  # (first, second): proof
    (1, 8): ["96a296d2", "5f083f0a", "6b47aaf2"],
    (6, 8): ["0ebc5d34", "ca854ea1", "d37ee418"],
    (2, 5): ["5f083f0a", "bc1a0643"],
    (6, 7): ["0ebc5d34", "b08693ec", "d37ee418"],
}
CT = [merkle.leaf_hash(bytes.fromhex(data)) for data in CT_LEAVES]


def test_roots_are_those_of_the_certificate_transparency_test_tree() -> None:
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert merkle.root(CT, size).hex() == expected
        assert ref_mth([ref_leaf(bytes.fromhex(data)) for data in CT_LEAVES[:size]]).hex() == expected
    assert merkle.root([]) == hashlib.sha256(b"").digest()


def test_proofs_are_those_of_the_certificate_transparency_test_tree() -> None:
    for (index, size), expected in CT_INCLUSION.items():
        path = merkle.inclusion_proof(CT, index, size)
        assert [digest.hex()[:8] for digest in path] == expected
        assert ref_inclusion_holds(CT[index], index, size, path, bytes.fromhex(CT_ROOTS[size - 1]))
    for (first, second), expected in CT_CONSISTENCY.items():
        proof = merkle.consistency_proof(CT, first, second)
        assert [digest.hex()[:8] for digest in proof] == expected
        old, new = (bytes.fromhex(CT_ROOTS[size - 1]) for size in (first, second))
        assert ref_consistency_holds(first, second, old, new, proof)
        assert merkle.verify_consistency(first, second, old, new, proof)


@pytest.fixture(scope="module")
def big() -> tuple[list[bytes], dict[int, bytes]]:
    """3 000 leaves of random entry hashes, and the reference root of every size proofs use."""
    rng = random.Random(9162)
    leaves = [merkle.entry_leaf(rng.randbytes(32).hex()) for _ in range(3000)]
    return leaves, {}


def _ref_root(big: tuple[list[bytes], dict[int, bytes]], size: int) -> bytes:
    leaves, roots = big
    if size not in roots:
        roots[size] = ref_mth(leaves[:size])
    return roots[size]


def _sizes(rng: random.Random, count: int) -> Iterator[int]:
    edges = [1, 2, 3, 15, 16, 17, 31, 32, 33, 1023, 1024, 1025, 2047, 2048, 2049, 3000]
    yield from edges
    for _ in range(count):
        yield rng.randint(1, 3000)


def test_inclusion_proofs_for_random_sizes_verify_independently(big: tuple[list[bytes], dict[int, bytes]]) -> None:
    leaves, _roots = big
    rng = random.Random(1)
    for size in _sizes(rng, 40):
        root = _ref_root(big, size)
        assert merkle.root(leaves, size) == root
        for index in {0, size - 1, rng.randrange(size)}:
            path = merkle.inclusion_proof(leaves, index, size)
            assert ref_inclusion_holds(leaves[index], index, size, path, root), (index, size)
            assert merkle.verify_inclusion(leaves[index], index, size, path, root)


def test_consistency_proofs_for_random_sizes_verify_independently(big: tuple[list[bytes], dict[int, bytes]]) -> None:
    leaves, _roots = big
    rng = random.Random(2)
    for second in _sizes(rng, 40):
        for first in {1, second, rng.randint(1, second), 1 << (rng.randint(1, second).bit_length() - 1)}:
            proof = merkle.consistency_proof(leaves, first, second)
            old, new = _ref_root(big, first), _ref_root(big, second)
            assert ref_consistency_holds(first, second, old, new, proof), (first, second)
            assert merkle.verify_consistency(first, second, old, new, proof)


def _flipped(hashes: list[bytes], at: int) -> list[bytes]:
    return [bytes([digest[0] ^ 8]) + digest[1:] if i == at else digest for i, digest in enumerate(hashes)]


def test_an_inclusion_proof_for_a_wrong_leaf_index_or_size_fails(big: tuple[list[bytes], dict[int, bytes]]) -> None:
    leaves, _roots = big
    rng = random.Random(3)
    for _ in range(30):
        size = rng.randint(3, 2999)
        index = rng.randrange(size)
        path, root = merkle.inclusion_proof(leaves, index, size), _ref_root(big, size)
        leaf = leaves[index]
        wrong = [
            (leaves[(index + 1) % size], index, size, path, root),  # another leaf
            (leaf, index ^ 1 if index ^ 1 < size else index - 1, size, path, root),  # another index
            (leaf, index, size + 1, path, _ref_root(big, size + 1)),  # another size, with its own root
            (leaf, index, size - 1, path, _ref_root(big, size - 1)) if index < size - 1 else None,
            (leaf, index, size * 2, path, root),  # a deeper or shallower tree, the same root
            (leaf, index, size // 2, path, root),
            (leaf, index, size, path[:-1], root),  # a hash missing
            (leaf, index, size, [*path, root], root),  # a hash too many
            (leaf, index, size, _flipped(path, rng.randrange(len(path))), root),  # a hash altered
        ]
        for case in filter(None, wrong):
            assert not ref_inclusion_holds(*case), case[1:3]
            assert not merkle.verify_inclusion(*case), case[1:3]


def test_a_consistency_proof_for_wrong_sizes_or_roots_fails(big: tuple[list[bytes], dict[int, bytes]]) -> None:
    leaves, _roots = big
    rng = random.Random(4)
    for _ in range(30):
        second = rng.randint(3, 3000)
        first = rng.randint(1, second - 1)
        proof = merkle.consistency_proof(leaves, first, second)
        old, new = _ref_root(big, first), _ref_root(big, second)
        wrong = [  # other sizes, each with its own root; other roots; altered proofs
            (first + 1, second, _ref_root(big, first + 1), new, proof) if first + 1 < second else None,
            (first - 1, second, _ref_root(big, first - 1), new, proof) if first > 1 else None,
            (first, second + 1, old, _ref_root(big, second + 1), proof) if second < 3000 else None,
            (first, second - 1, old, _ref_root(big, second - 1), proof) if second - 1 > first else None,
            (first, second * 2, old, new, proof),
            (first, second, new, old, proof),  # swapped roots
            (first, second, _ref_root(big, first + 1), new, proof),  # another old tree
            (first, second, old, new, proof[:-1]),
            (first, second, old, new, [*proof, new]),
            (first, second, old, new, _flipped(proof, rng.randrange(len(proof)))),
        ]
        for case in filter(None, wrong):
            assert not ref_consistency_holds(*case), case[:2]
            assert not merkle.verify_consistency(*case), case[:2]


def test_the_builder_completes_every_aligned_subtree_once() -> None:
    rng = random.Random(5)
    leaves = [merkle.entry_leaf(rng.randbytes(32).hex()) for _ in range(300)]
    builder = merkle.TreeBuilder(min_level=0)
    completed = builder.extend(leaves)
    expected = {(level, p) for level in range(9) for p in range(300 >> level)}
    assert {(level, position) for level, position, _hash in completed} == expected
    assert len(completed) == len(expected)
    for level, position, digest in completed:
        assert digest == ref_mth(leaves[position << level : (position + 1) << level])
    assert builder.root() == ref_mth(leaves)


@pytest.mark.parametrize("min_level", [None, 0, 1, 4])
def test_extending_in_batches_builds_what_appending_leaf_by_leaf_builds(min_level: int | None) -> None:
    # `extend` hashes a level at a time; `append` is the leaf-by-leaf definition it must match:
    # the same root, edge and completed subtrees, from any starting size, for any batch length.
    rng = random.Random(7)
    for _trial in range(300):
        leaves = [rng.randbytes(32) for _ in range(rng.randrange(0, 200) + rng.randrange(0, 200))]
        cut = rng.randrange(0, len(leaves) + 1)
        one_by_one = merkle.TreeBuilder(min_level=min_level)
        for leaf in leaves[:cut]:
            one_by_one.append(leaf)
        batched = merkle.TreeBuilder(one_by_one.size, list(one_by_one._edge), min_level=min_level)
        completed = batched.extend(leaves[cut:])
        expected = [node for leaf in leaves[cut:] for node in one_by_one.append(leaf)]
        assert (batched.size, batched.root(), batched._edge) == (one_by_one.size, one_by_one.root(), one_by_one._edge)
        assert sorted(completed) == sorted(expected)


def test_proofs_are_refused_for_sizes_that_name_none() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_ranges(0, 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_ranges(6, 5)
    assert merkle.consistency_ranges(7, 7) == []
    assert merkle.inclusion_ranges(0, 1) == []


# ---------------------------------------------------------------------------------------------
# In the database


def insert_entries(settings: Settings, count: int, prefix: str = "e") -> None:
    engine = create_sync_engine(settings)
    try:
        with engine.execution_options(sqlite_write=True).begin() as connection:
            connection.execute(  # typed, so that times are stored as the app stores them
                insert(log),
                [
                    {"at": utcnow(), "request_id": f"{prefix}-{i}", "action": "test", "method": "GET"}
                    | {"status_code": 200, "outcome": "allowed"}
                    for i in range(count)
                ],
            )
    finally:
        engine.dispose()


def chain_all_entries(settings: Settings) -> None:
    engine = create_sync_engine(settings)
    try:
        with engine.execution_options(sqlite_write=True).begin() as connection:
            chain_pending(connection, wait=True)
    finally:
        engine.dispose()


def chain_all(settings: Settings, limit: int = 5000) -> None:
    """Sequencer passes until nothing is left to chain or add to the tree."""
    engine = create_sync_engine(settings)
    try:
        while True:
            with engine.execution_options(sqlite_write=True).begin() as connection:
                chain_pending(connection, wait=True, limit=limit)
            with engine.connect() as connection:
                seq, size = connection.execute(text("SELECT seq, tree_size FROM access_log_head")).one()
                pending = connection.execute(text("SELECT count(*) FROM access_log")).scalar_one() - seq
            if seq == size and pending == 0:
                return
    finally:
        engine.dispose()


def read(settings: Settings) -> Iterator[Connection]:
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def chain_leaves(connection: Connection) -> list[bytes]:
    hashes = connection.execute(text("SELECT hash FROM access_log_chain ORDER BY seq")).scalars().all()
    return [ref_entry_leaf(digest) for digest in hashes]


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
                    connection.execute(text(f"DROP TRIGGER {table}_no_update"))
                    connection.execute(text(f"DROP TRIGGER {table}_no_delete"))
            for statement in statements:
                connection.execute(text(statement), parameters)
    finally:
        engine.dispose()


def test_the_stored_tree_gives_the_roots_and_proofs_of_a_tree_built_from_scratch(settings: Settings) -> None:
    for batch in (1, 15, 1, 16, 17, 100, 3, 147):  # 300 entries over passes that end anywhere
        insert_entries(settings, batch)
        chain_all(settings, limit=64)
    rng = random.Random(6)
    for connection in read(settings):
        leaves = chain_leaves(connection)
        assert len(leaves) == 300
        stored = connection.execute(text("SELECT level, position, hash FROM access_log_tree_nodes")).all()
        scratch = merkle.TreeBuilder(min_level=tree_store.MIN_STORED_LEVEL).extend(leaves)
        assert {(row.level, row.position, bytes(row.hash)) for row in stored} == set(scratch)
        assert tree_head(connection) == TreeHead(300, ref_mth(leaves).hex())
        for size in range(1, 301):
            assert root_at(connection, size) == ref_mth(leaves[:size]).hex()
        for _ in range(60):
            size = rng.randint(1, 300)
            seq = rng.randint(1, size)
            proof = inclusion_proof(connection, seq, size)
            assert proof.leaf_hash == leaves[seq - 1].hex()
            assert ref_inclusion_holds(leaves[seq - 1], seq - 1, size, unhex(proof.path), ref_mth(leaves[:size]))
            first = rng.randint(1, size)
            consistency = consistency_proof(connection, first, size)
            old, new = ref_mth(leaves[:first]), ref_mth(leaves[:size])
            assert ref_consistency_holds(first, size, old, new, unhex(consistency.path)), (first, size)


def test_proof_requests_the_tree_cannot_answer_are_refused(settings: Settings) -> None:
    insert_entries(settings, 20)
    chain_all(settings)
    for connection in read(settings):
        for seq, size in ((0, 10), (11, 10), (1, 21), (1, 0)):
            with pytest.raises(ProofRequestInvalid):
                inclusion_proof(connection, seq, size)
        for first, second in ((0, 10), (11, 10), (5, 21)):
            with pytest.raises(ProofRequestInvalid):
                consistency_proof(connection, first, second)
        assert consistency_proof(connection, 20, 20).path == []
    assert issubclass(ProofRequestInvalid, ValueError)


def test_the_sequencer_builds_the_tree_of_a_log_older_than_the_tree(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log chained before the tree existed — revision 0008 leaves it with tree_size 0 and no
    nodes — gains its tree from the sequencer in bounded passes, and new entries still chain."""
    with monkeypatch.context() as before_the_tree:
        before_the_tree.setattr(sequencer, "extend_tree", lambda _connection, tree_size, _chain, _new: tree_size)
        insert_entries(settings, 200, "old")
        chain_all_entries(settings)
    for connection in read(settings):
        assert connection.execute(text("SELECT seq, tree_size FROM access_log_head")).one() == (200, 0)
        assert connection.execute(text("SELECT count(*) FROM access_log_tree_nodes")).scalar_one() == 0
    monkeypatch.setattr(tree_store, "CATCH_UP_LEAVES", 64)
    insert_entries(settings, 10, "new")
    engine = create_sync_engine(settings)
    try:
        with engine.execution_options(sqlite_write=True).begin() as connection:
            assert chain_pending(connection, wait=True) == 10
        with engine.connect() as connection:
            assert connection.execute(text("SELECT seq, tree_size FROM access_log_head")).one() == (210, 64)
    finally:
        engine.dispose()
    chain_all(settings)  # three more passes of at most 64 leaves each
    for connection in read(settings):
        leaves = chain_leaves(connection)
        assert tree_head(connection) == TreeHead(210, ref_mth(leaves).hex())
    result = run_verification(settings, KeyRing.load(settings.signing_key_file))
    assert result.valid, result.reason
    assert result.tree_root == ref_mth(leaves).hex()


# ---------------------------------------------------------------------------------------------
# Signed tree heads


@pytest.fixture
def keys(signing_key_file: Path) -> KeyRing:
    return KeyRing.load(signing_key_file)


def _public_verify(keys: KeyRing, signature: str) -> dict[str, Any]:
    """Check a compact JWS with nothing but the published JWKS, as a witness would."""
    header = jws.get_unverified_header(signature)
    (public,) = [key for key in keys.jwks()["keys"] if key["kid"] == header["kid"]]
    claims: dict[str, Any] = orjson.loads(jws.verify(signature, jwk.construct(public), algorithms=[public["alg"]]))
    return claims


def test_a_signed_tree_head_verifies_with_the_jwks_key(keys: KeyRing) -> None:
    root = ref_mth(CT).hex()
    signed = sign_tree_head(keys, TreeHead(8, root))
    assert jws.get_unverified_header(signed.signature)["typ"] == "tree-head+jws"
    assert _public_verify(keys, signed.signature) == {"tree_size": 8, "root_hash": root, "timestamp": signed.timestamp}
    assert verify_tree_head(keys, signed.signature) == signed


def test_a_tree_head_with_an_unknown_kid_an_altered_root_or_another_type_fails(keys: KeyRing) -> None:
    stranger = SigningKey(generate_private_key_pem(keys.algorithm))
    foreign = sign_tree_head(KeyRing(current=stranger), TreeHead(8, ref_mth(CT).hex()))
    with pytest.raises(TreeHeadInvalid, match="does not know"):
        verify_tree_head(keys, foreign.signature)

    signed = sign_tree_head(keys, TreeHead(8, ref_mth(CT).hex()))
    header, _payload, signature = signed.signature.split(".")
    altered = orjson.dumps(
        {"root_hash": ref_mth(CT[:7]).hex(), "timestamp": signed.timestamp, "tree_size": 8}, option=orjson.OPT_SORT_KEYS
    )
    forged = ".".join([header, base64.urlsafe_b64encode(altered).rstrip(b"=").decode(), signature])
    with pytest.raises(TreeHeadInvalid, match="does not verify"):
        verify_tree_head(keys, forged)

    checkpoint_like = keys.current.sign_compact(b'{"tree_size":8}', {"typ": "log-checkpoint+jws"})
    with pytest.raises(TreeHeadInvalid, match="not a tree head"):
        verify_tree_head(keys, checkpoint_like)


# ---------------------------------------------------------------------------------------------
# Verification holds the chain to its signed tree heads and the stored tree to the chain


@pytest.fixture
def checkpointed(settings: Settings, keys: KeyRing) -> int:
    """Forty entries, verified and checkpointed with a signed tree head; returns its size."""
    insert_entries(settings, 40)
    result = run_verification(settings, keys)
    assert result.valid, result.reason
    assert result.tree_head is not None
    return result.head_seq


def test_each_checkpoint_stores_a_signed_tree_head_a_witness_can_extend(
    settings: Settings, keys: KeyRing, checkpointed: int
) -> None:
    insert_entries(settings, 27, "later")
    later = run_verification(settings, keys)
    assert later.valid, later.reason
    assert later.tree_heads_verified == 1  # the first head, held to the recomputed tree
    for connection in read(settings):
        leaves = chain_leaves(connection)
        heads = connection.execute(text("SELECT * FROM access_log_tree_heads ORDER BY tree_size")).all()
        assert [(row.tree_size, row.root_hash) for row in heads] == [
            (checkpointed, ref_mth(leaves[:checkpointed]).hex()),
            (checkpointed + 27, ref_mth(leaves).hex()),
        ]
        # The witness's step: the old head, the new head, and a proof that one extends the other.
        old, new = (_public_verify(keys, row.signature) for row in heads)
        old_root, new_root = bytes.fromhex(old["root_hash"]), bytes.fromhex(new["root_hash"])
        proof = consistency_proof(connection, old["tree_size"], new["tree_size"])
        assert ref_consistency_holds(proof.first, proof.second, old_root, new_root, unhex(proof.path))
        entry = inclusion_proof(connection, 7, proof.first)  # and an entry of the old tree, in it
        assert ref_inclusion_holds(leaves[6], 6, proof.first, unhex(entry.path), old_root)


def _rewrite_from(settings: Settings, seq: int) -> list[str]:
    """The intruder's statements: entry `seq` altered, every later hash recomputed, the head and
    the whole stored tree too — everything but the signatures, which need the private key."""
    from app.audit.chain import entry_hash
    from app.audit.queries import chain

    engine = create_sync_engine(settings)
    with engine.connect() as connection:
        rows = connection.execute(
            select(chain.c.seq, chain.c.prev_hash, chain.c.hash, log)
            .select_from(chain.join(log, log.c.id == chain.c.entry_id))
            .order_by(chain.c.seq)
        ).mappings()
        links = [dict(row) for row in rows]
    engine.dispose()
    statements, previous = [f"UPDATE access_log SET outcome = 'denied' WHERE id = {links[seq - 1]['id']}"], None
    links[seq - 1]["outcome"] = "denied"
    for link in links:
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
    statements.append("DELETE FROM access_log_tree_nodes")
    nodes = merkle.TreeBuilder(min_level=tree_store.MIN_STORED_LEVEL).extend(
        ref_entry_leaf(str(link["hash"])) for link in links
    )
    for level, position, digest in nodes:
        literal = f"'\\x{digest.hex()}'" if settings.database_url.startswith("postgresql") else f"X'{digest.hex()}'"
        statements.append(f"INSERT INTO access_log_tree_nodes VALUES ({level}, {position}, {literal})")
    return statements


def test_a_rewritten_chain_is_found_by_its_signed_tree_head(
    settings: Settings, keys: KeyRing, checkpointed: int
) -> None:
    # The intruder rewrites entry 5 onwards, rebuilds the tree, and removes the chain checkpoints
    # that would betray it: the signed tree head alone must find the rewrite.
    unguarded(settings, *_rewrite_from(settings, 5), "DELETE FROM access_log_checkpoints")
    result = run_verification(settings, keys, checkpoint=False)
    assert not result.valid
    assert result.first_invalid_seq == checkpointed
    assert "signed tree head" in (result.reason or "")


def test_a_stored_tree_head_signed_by_an_unknown_key_fails_verification(
    settings: Settings, keys: KeyRing, checkpointed: int
) -> None:
    stranger = KeyRing(current=SigningKey(generate_private_key_pem(keys.algorithm)))
    for connection in read(settings):
        root = tree_head(connection).root_hash
    forged = sign_tree_head(stranger, TreeHead(checkpointed, root))
    unguarded(
        settings,
        "UPDATE access_log_tree_heads SET kid = :kid, signature = :signature",
        kid=forged.kid,
        signature=forged.signature,
    )
    result = run_verification(settings, keys, checkpoint=False)
    assert not result.valid
    assert "does not know" in (result.reason or "")


def test_a_damaged_stored_node_is_found_and_its_proofs_fail(
    settings: Settings, keys: KeyRing, checkpointed: int
) -> None:
    wrong = "'\\x" + "00" * 32 + "'" if settings.database_url.startswith("postgresql") else "X'" + "00" * 32 + "'"
    unguarded(settings, f"UPDATE access_log_tree_nodes SET hash = {wrong} WHERE level = 4 AND position = 1")
    result = run_verification(settings, keys, checkpoint=False)
    assert not result.valid
    assert result.first_invalid_seq == 32
    assert "stored Merkle tree differs" in (result.reason or "")
    for connection in read(settings):
        leaves = chain_leaves(connection)
        proof = inclusion_proof(connection, 3, checkpointed)  # its path runs through node 4/1
        assert not ref_inclusion_holds(leaves[2], 2, checkpointed, unhex(proof.path), ref_mth(leaves))


def test_a_missing_node_stops_the_tree_not_the_chain(settings: Settings, keys: KeyRing, checkpointed: int) -> None:
    unguarded(settings, "DELETE FROM access_log_tree_nodes WHERE level = 5 AND position = 0")
    insert_entries(settings, 5, "after")
    chain_all_entries(settings)
    for connection in read(settings):
        assert connection.execute(text("SELECT seq, tree_size FROM access_log_head")).one() == (checkpointed + 5, 40)
        with pytest.raises(tree_store.TreeIncomplete):
            inclusion_proof(connection, 35, 40)  # its path holds leaves 1-32, node 5/0
    result = run_verification(settings, keys, checkpoint=False)
    assert not result.valid
    assert "stored Merkle tree lacks node 5/0" in (result.reason or "")


def test_a_stored_tree_longer_than_the_chain_is_found(settings: Settings, keys: KeyRing, checkpointed: int) -> None:
    unguarded(settings, "UPDATE access_log_head SET tree_size = tree_size + 1")
    result = run_verification(settings, keys, checkpoint=False)
    assert not result.valid
    assert result.first_invalid_seq == checkpointed + 1
    assert "stored Merkle tree covers" in (result.reason or "")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log_tree_nodes SET position = position + 1",
        "DELETE FROM access_log_tree_nodes",
        "UPDATE access_log_tree_heads SET root_hash = 'x'",
        "DELETE FROM access_log_tree_heads",
    ],
)
def test_the_tree_and_its_heads_are_append_only(settings: Settings, checkpointed: int, statement: str) -> None:
    engine = create_sync_engine(settings)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()
