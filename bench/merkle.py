"""The Merkle tree over the access log, measured: proofs at 10⁶ entries, and its cost to the sequencer.

1. Proofs. A scratch database holds N chained links and the tree over them, computed in Python
   (app.audit.merkle.TreeBuilder) and bulk-inserted: links with random hashes, since proofs read
   nothing but the chain's hashes and the stored nodes. Then random inclusion proofs (a random
   entry in the tree of all N) and consistency proofs (a random earlier size to N) through
   app.audit.proofs, each checked with the app's verifier, reported in ms per proof together
   with what a proof reads (stored nodes and chain rows, in three queries).
2. Verification (issue 22): N entries in the v1.1 form — every other one with `access_basis`,
   `consent_id` and a `purpose_of_use` code, so both hash forms are walked — chained, then
   verified by `run_verification` as `samhandling audit verify` does; reported in entries/s.
3. The sequencer. Two fresh databases get the same entries each round; one is chained as the
   app does, the other with the tree's extension switched off (the sequencer as it was before
   the tree). Rounds alternate which goes first; the best rate of each counts.

Usage:

  .venv/bin/python bench/merkle.py [--leaves 1000000] [--proofs 300] [--entries 50000] [--rounds 3]
                                   [--verify-entries 200000] [--dialects postgresql,sqlite]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from app.audit import merkle, sequencer  # noqa: E402
from app.audit.proofs import consistency_proof, inclusion_proof, root_at  # noqa: E402
from app.audit.queries import log as LOG  # noqa: E402, N812
from app.audit.sequencer import BATCH_ENTRIES, chain_pending  # noqa: E402
from app.audit.tree_store import MIN_STORED_LEVEL  # noqa: E402
from app.audit.verify import run_verification  # noqa: E402
from app.db import create_sync_engine  # noqa: E402
from app.ops.migrations import upgrade  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.log_append import entry  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_database(dialect: str) -> Iterator[str]:
    """A freshly migrated database, dropped afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{directory}/bench.db"
            upgrade(Settings(database_url=url))
            yield url
        return
    name = f"bench_merkle_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(Settings(database_url=url))
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def build_tree(url: str, leaves: int) -> tuple[list[bytes], float]:
    """N links and their tree, bulk-inserted; returns the leaf hashes and the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(6962)
    hashes = [rng.randbytes(32).hex() for _ in range(leaves)]
    leaf_hashes = [merkle.entry_leaf(digest) for digest in hashes]
    nodes = merkle.TreeBuilder(min_level=MIN_STORED_LEVEL).extend(leaf_hashes)
    links = [(seq, seq, hashes[seq - 2] if seq > 1 else "0" * 64, hashes[seq - 1]) for seq in range(1, leaves + 1)]
    head = "UPDATE access_log_head SET seq = {0}, hash = '{1}', last_entry_id = {0}, tree_size = {0}"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.executemany(
                "INSERT INTO access_log_chain (seq, entry_id, prev_hash, hash) VALUES (?, ?, ?, ?)", links
            )
            connection.executemany("INSERT INTO access_log_tree_nodes VALUES (?, ?, ?)", nodes)
            connection.execute(head.format(leaves, hashes[-1]))
    else:
        with psycopg.connect(url) as postgres, postgres.cursor() as cursor:
            with cursor.copy("COPY access_log_chain (seq, entry_id, prev_hash, hash) FROM STDIN") as copy:
                for link in links:
                    copy.write_row(link)
            with cursor.copy("COPY access_log_tree_nodes (level, position, hash) FROM STDIN") as copy:
                for node in nodes:
                    copy.write_row(node)
            cursor.execute(head.format(leaves, hashes[-1]))
            cursor.execute("ANALYZE access_log_chain")
            cursor.execute("ANALYZE access_log_tree_nodes")
    return leaf_hashes, time.perf_counter() - started


def reads_per_proof(ranges: list[tuple[int, int]]) -> tuple[int, int]:
    """(stored nodes, chain rows) a proof over these ranges reads."""
    pieces = {piece for start, end in ranges for piece in merkle.aligned_pieces(start, end)}
    stored = sum(1 for level, _position in pieces if level >= MIN_STORED_LEVEL)
    return stored, sum(1 << level for level, _position in pieces if level < MIN_STORED_LEVEL)


def measure_proofs(url: str, leaf_hashes: list[bytes], proofs: int) -> dict[str, tuple[float, float, float, float]]:
    """kind → (mean ms, p99 ms, stored nodes read, chain rows read) per proof."""
    size, rng = len(leaf_hashes), random.Random(1)
    root = merkle.root(leaf_hashes)
    engine = create_sync_engine(Settings(database_url=url))
    results: dict[str, tuple[float, float, float, float]] = {}
    try:
        with engine.connect() as connection:
            assert root_at(connection, size) == root.hex()
            timings: dict[str, list[float]] = {"inclusion": [], "consistency": []}
            reads: dict[str, list[tuple[int, int]]] = {"inclusion": [], "consistency": []}
            for _ in range(proofs):
                seq, first = rng.randint(1, size), rng.randint(1, size - 1)
                started = time.perf_counter()
                path = inclusion_proof(connection, seq, size).path
                timings["inclusion"].append(time.perf_counter() - started)
                hashes = [bytes.fromhex(digest) for digest in path]
                assert merkle.verify_inclusion(leaf_hashes[seq - 1], seq - 1, size, hashes, root)
                reads["inclusion"].append(reads_per_proof([(seq - 1, seq), *merkle.inclusion_ranges(seq - 1, size)]))
                started = time.perf_counter()
                path = consistency_proof(connection, first, size).path
                timings["consistency"].append(time.perf_counter() - started)
                hashes = [bytes.fromhex(digest) for digest in path]
                assert merkle.verify_consistency(first, size, merkle.root(leaf_hashes, first), root, hashes)
                reads["consistency"].append(reads_per_proof(merkle.consistency_ranges(first, size)))
                connection.rollback()  # each proof in a transaction of its own, as a request would
    finally:
        engine.dispose()
    for kind, seconds in timings.items():
        ms = sorted(value * 1000 for value in seconds)
        stored = statistics.mean(r[0] for r in reads[kind])
        rows = statistics.mean(r[1] for r in reads[kind])
        results[kind] = (statistics.mean(ms), ms[int(len(ms) * 0.99) - 1], stored, rows)
    return results


def v11_entry(index: int) -> dict[str, object]:
    base = entry()
    if index % 2:
        return base | {"access_basis": "consent", "consent_id": str(uuid.uuid4()), "purpose_of_use": "care"}
    return base | {"access_basis": None, "consent_id": None}


def verify_rate(dialect: str, count: int) -> tuple[float, int]:
    """(entries/s, entries) of a full verification of `count` chained v1.1 entries."""
    with scratch_database(dialect) as url:
        settings = Settings(database_url=url)
        engine = create_sync_engine(settings)
        try:
            with engine.execution_options(sqlite_write=True).begin() as connection:
                for offset in range(0, count, 5000):
                    rows = [v11_entry(offset + i) for i in range(min(5000, count - offset))]
                    connection.execute(insert(LOG), [{"repeat_count": None} | row for row in rows])
        finally:
            engine.dispose()
        result = run_verification(settings, None, checkpoint=False)  # chains first, then walks
        result = run_verification(settings, None, checkpoint=False)  # the walk alone
        assert result.valid, result.reason
        return result.entries / result.seconds, result.entries


def no_tree(_connection: object, tree_size: int, _chain_size: int, _new: object) -> int:
    return tree_size


def chain_rate(url: str, count: int, with_tree: bool) -> float:
    engine = create_sync_engine(Settings(database_url=url))
    try:
        with engine.execution_options(sqlite_write=True).begin() as connection:
            for offset in range(0, count, 5000):
                connection.execute(insert(LOG), [entry() for _ in range(min(5000, count - offset))])
        # The sequencer calls the name it imported: patch that one (it is no re-export, hence attr-defined).
        original: Callable[..., int] = sequencer.extend_tree  # type: ignore[attr-defined]
        sequencer.extend_tree = original if with_tree else no_tree  # type: ignore[attr-defined,assignment]
        try:
            started, total = time.perf_counter(), 0
            while True:
                with engine.execution_options(sqlite_write=True).begin() as connection:
                    chained = chain_pending(connection, wait=True)
                total += chained
                if chained < BATCH_ENTRIES:
                    break
            return total / (time.perf_counter() - started)
        finally:
            sequencer.extend_tree = original  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def measure_sequencer(dialect: str, entries: int, rounds: int) -> dict[bool, float]:
    rates: dict[bool, list[float]] = {True: [], False: []}
    with scratch_database(dialect) as with_url, scratch_database(dialect) as without_url:
        for round_number in range(rounds):
            order = (True, False) if round_number % 2 == 0 else (False, True)
            for with_tree in order:
                rates[with_tree].append(chain_rate(with_url if with_tree else without_url, entries, with_tree))
    return {with_tree: max(values) for with_tree, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=300)
    parser.add_argument("--entries", type=int, default=50_000, help="entries per sequencer round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--verify-entries", type=int, default=200_000)
    parser.add_argument("--dialects", default="postgresql,sqlite")
    args = parser.parse_args()

    for dialect in args.dialects.split(","):
        with scratch_database(dialect) as url:
            leaf_hashes, seconds = build_tree(url, args.leaves)
            print(f"{dialect}: {args.leaves:,} links and their tree built and inserted in {seconds:.1f} s")
            for kind, (mean, p99, stored, rows) in measure_proofs(url, leaf_hashes, args.proofs).items():
                print(
                    f"  {kind:<12} proof at {args.leaves:,}: {mean:.2f} ms mean, {p99:.2f} ms p99 "
                    f"({args.proofs} proofs; reads {stored:.1f} stored nodes + {rows:.1f} chain rows)"
                )
        if args.verify_entries:
            rate, walked = verify_rate(dialect, args.verify_entries)
            print(f"  audit verify: {rate:,.0f} entries/s ({walked:,} v1.1 entries, half with basis and consent)")
        rates = measure_sequencer(dialect, args.entries, args.rounds)
        print(
            f"  sequencer, best of {args.rounds} rounds of {args.entries:,} entries: "
            f"{rates[False]:,.0f} entries/s without the tree, {rates[True]:,.0f} with it "
            f"({rates[True] / rates[False]:.2f}x)"
        )


if __name__ == "__main__":
    main()
