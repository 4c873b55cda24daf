"""Verifying the access log: chain what is pending, then walk the chain once, in bounded memory.

Checks, for every link in `seq` order: no gap in `seq`; the entry it names exists; `prev_hash`
is the previous link's `hash`; `hash` is the SHA-256 of the entry's canonical form
(app/audit/chain.py). Then: the head names the last link (so a truncated tail is found); every
entry up to the head's position is in the chain (so an entry slipped in out of order is
found); and every stored checkpoint matches the recomputed chain and carries a valid signature
of one of the service's keys — current, previous or retired; any other key is a failure (so a
chain rewritten from some point on, with all later hashes recomputed and its checkpoints
re-signed, is found too).
Alongside, the Merkle tree over the chain is rebuilt and every signed tree head and stored node
is held to it (app/audit/tree_verify.py).

Incremental (`samhandling audit verify`, unless `--full`): the walk starts after the latest
signed checkpoint that still holds (app/audit/verify_start.py) and checks all of the above for
the entries after it, so a daily verification costs the day's entries, not all of history.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select, tuple_

from app.audit.chain import EXTENSION_FIELDS, format_at, values_hash, with_extensions
from app.audit.checkpoints import (
    Checkpoint,
    load_checkpoints,
    sign_checkpoint,
    signature_state,
    store_checkpoint,
)
from app.audit.log_retention import Retirement, load_retirements, retirement_state
from app.audit.merkle import EMPTY_ROOT
from app.audit.queries import CHAIN_TO_LOG_SQL
from app.audit.sequencer import BATCH_ENTRIES, chain_pending
from app.audit.tree_heads import SignedTreeHead, TreeHead, load_tree_heads, sign_tree_head, store_tree_head
from app.audit.tree_verify import Problem, TreeCheck
from app.audit.verify_start import GENESIS, Start, candidates, start_at
from app.db import create_sync_engine
from app.models.audit import AccessLogChainLink, AccessLogEntry, ChainHead
from app.models.base import table_of
from app.security.keys import KeyRing
from app.settings import Settings

BATCH_ROWS = 10_000
PREFETCH_BATCHES = 3
_NO_EXTENSIONS = (None,) * len(EXTENSION_FIELDS)  # an ordinary entry: hashed as its 17 v1 values
_log = table_of(AccessLogEntry)
_chain = table_of(AccessLogChainLink)
_head = table_of(ChainHead)


@dataclass
class VerificationResult:
    valid: bool
    entries: int
    head_seq: int
    head_hash: str
    first_invalid_seq: int | None
    reason: str | None
    checkpoints_verified: int
    seconds: float
    checkpoint: Checkpoint | None = None
    tree_root: str = EMPTY_ROOT.hex()  # RFC 9162 MTH of the verified chain
    tree_heads_verified: int = 0
    tree_head: SignedTreeHead | None = None
    from_seq: int = 0  # the walk checked the entries after this one (0: all, from the genesis)
    incremental: bool = False  # asked to start from a checkpoint (from_seq 0 when none held)
    # Links walked whose entries a signed retirement says retention dropped (log_retention.py):
    # their links and tree were checked, their content is gone.
    retired_entries: int = 0

    def summary(self) -> dict[str, Any]:
        summary = asdict(self)
        if self.checkpoint is not None:
            summary["checkpoint"]["created_at"] = format_at(self.checkpoint.created_at)
        return summary


def verify_chain(connection: Connection, keys: KeyRing | None, *, incremental: bool = False) -> VerificationResult:
    """Verify in one read snapshot (the caller opens it); stops at the first broken link.

    `incremental`: only the entries after the latest signed checkpoint that still holds."""
    started = time.perf_counter()
    if connection.dialect.name == "postgresql":
        # JIT-compiling the walk's one long query cost more than a second of every run, each time.
        connection.exec_driver_sql("SET LOCAL jit = off")
    head = connection.execute(select(_head).where(_head.c.id == 1)).one()
    checkpoints = load_checkpoints(connection)
    heads = load_tree_heads(connection)
    start: Start | Problem = _find_start(connection, keys, checkpoints, heads, head) if incremental else GENESIS
    begin = start if isinstance(start, Start) else GENESIS
    tree = TreeCheck(connection, keys, head.tree_size, heads, begin.tree)
    walked, last_seq, last_hash, checked = 0, begin.seq, begin.hash, 0

    def broken(seq: int, reason: str) -> VerificationResult:
        return VerificationResult(
            valid=False,
            entries=walked,
            head_seq=head.seq,
            head_hash=head.hash,
            first_invalid_seq=seq,
            reason=reason,
            checkpoints_verified=checked,
            seconds=time.perf_counter() - started,
            tree_heads_verified=tree.heads_verified,
            from_seq=begin.seq,
            incremental=incremental,
        )

    if not isinstance(start, Start):
        return broken(*start)
    retirements = load_retirements(connection)
    retirement_problem = _retirement_problem(keys, retirements, checkpoints)
    if retirement_problem:
        return broken(*retirement_problem)
    dropped_spans = [(r.first_seq, r.last_seq, frozenset(r.kept_seqs)) for r in retirements]
    retired = 0
    if start.tree_head is not None:  # the checkpoint itself held (verify_start.py); now the tree at it
        tree_problem = tree.check_start_head(start.tree_head)
        if tree_problem:
            return broken(*tree_problem)
        checked += 1
    for row in _canonical_rows(connection, f"c.seq > {int(begin.seq)}", prefetch=True):
        walked += 1
        seq = row[0]
        if seq != last_seq + 1:
            return broken(last_seq + 1, f"entry {last_seq + 1} of the chain is missing")
        if row[16] != last_hash:
            return broken(seq, "prev_hash does not match the previous entry's hash")
        if not row[18]:
            if not any(first <= seq <= last and seq not in kept for first, last, kept in dropped_spans):
                return broken(seq, _missing_entry(connection, seq, row[17]))
            retired += 1  # dropped by retention: the link and the tree are all there is to check
        elif values_hash(row[:17] if row[19:] == _NO_EXTENSIONS else with_extensions(row[:17], row[19:])) != row[17]:
            return broken(seq, "the entry's content does not match its hash")
        last_seq, last_hash = seq, row[17]
        tree_problem = tree.add(seq, last_hash)
        if tree_problem:
            return broken(*tree_problem)
        checkpoint = checkpoints.get(seq)
        if checkpoint is not None:
            problem = _checkpoint_problem(keys, checkpoint, last_hash)
            if problem:
                return broken(seq, problem)
            checked += 1
    if (head.seq, head.hash) != (last_seq, last_hash):
        return broken(last_seq + 1, f"the head names entry {head.seq}; the chain ends at {last_seq}")
    # From a checkpoint, only the entries after the checkpointed one in commit order are counted.
    within = [tuple_(_log.c.txid, _log.c.id) <= tuple_(head.last_txid, head.last_entry_id)]
    if begin.seq:
        within.append(tuple_(_log.c.txid, _log.c.id) > tuple_(begin.txid, begin.entry_id))
    inside = connection.execute(select(func.count()).where(*within)).scalar_one()
    if inside != last_seq - begin.seq - retired:
        extra = inside - (last_seq - begin.seq - retired)
        return broken(last_seq, f"{extra} entries lie within the chained range but not in the chain")
    beyond = [seq for seq in checkpoints if seq > last_seq]
    if beyond:
        return broken(last_seq + 1, f"a signed checkpoint names entry {beyond[0]}; the chain ends at {last_seq}")
    tree_problem = tree.finish(last_seq)
    if tree_problem:
        return broken(*tree_problem)
    return VerificationResult(
        valid=True,
        entries=walked,
        head_seq=head.seq,
        head_hash=head.hash,
        first_invalid_seq=None,
        reason=None,
        checkpoints_verified=checked,
        seconds=time.perf_counter() - started,
        tree_root=tree.root(),
        tree_heads_verified=tree.heads_verified,
        from_seq=begin.seq,
        incremental=incremental,
        retired_entries=retired,
    )


def _missing_entry(connection: Connection, seq: int, link_hash: str) -> str:
    """Why the link at `seq` found no entry by id and time: none by id either, or one whose content
    (its time included) no longer hashes to the link, or a link whose copied time is not its entry's."""
    by_id = list(_canonical_rows(connection, f"c.seq = {int(seq)}", join="e.id = c.entry_id"))
    if not by_id or not by_id[0][18]:
        return "the entry this link names is missing"
    if values_hash(with_extensions(by_id[0][:17], by_id[0][19:])) != link_hash:
        return "the entry's content does not match its hash"
    return "the link's time is not its entry's"


def _retirement_problem(
    keys: KeyRing | None, retirements: list[Retirement], checkpoints: dict[int, Checkpoint]
) -> Problem | None:
    """A retirement excuses missing entries only if the service signed it and the checkpoint it
    names exists: a row added by hand to cover deleted entries is tampering."""
    for retirement in retirements:
        state = retirement_state(keys, retirement)
        if state != "valid":
            unknown = f"signed by a key the service does not know ({retirement.kid[:64]})"
            what = "forged" if state == "invalid" else unknown
            return retirement.first_seq, f"the record of the retired month {retirement.partition[:64]} is {what}"
        if retirement.entries and retirement.checkpoint_seq not in checkpoints:
            return retirement.first_seq, (
                f"the retired month {retirement.partition[:64]} names checkpoint {retirement.checkpoint_seq}, "
                "which does not exist"
            )
    return None


def _find_start(
    connection: Connection,
    keys: KeyRing | None,
    checkpoints: dict[int, Checkpoint],
    heads: dict[int, SignedTreeHead],
    head: Any,
) -> Start | Problem:
    """The latest usable checkpoint as a start (GENESIS when there is none), or the problem that
    shows a validly signed checkpoint no longer matches the chain."""
    usable = candidates(keys, checkpoints, heads, head_seq=head.seq, tree_size=head.tree_size)
    if not usable:
        return GENESIS
    latest = usable[0]
    rows = list(_canonical_rows(connection, f"c.seq = {int(latest.seq)}"))
    return start_at(connection, latest, heads[latest.seq], rows[0] if rows else None)


# The links in chain order, each with its entry's fields already in their canonical text form
# (HASHED_FIELDS order, then the link's hash, whether the entry exists, and the EXTENSION_FIELDS):
# formatting times and ids in the database, and reading plain tuples, is what lets a walk cover
# millions of entries.
_CANONICAL_COLUMNS = {
    "postgresql": (
        "to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        "e.child_id::text",
    ),
    "sqlite": (
        "replace(e.at, ' ', 'T') || 'Z'",
        "lower(substr(e.child_id, 1, 8) || '-' || substr(e.child_id, 9, 4) || '-' || substr(e.child_id, 13, 4)"
        " || '-' || substr(e.child_id, 17, 4) || '-' || substr(e.child_id, 21))",
    ),
}


# Extension fields are plain integers or text, already canonical as the database returns them.
_EXTENSION_COLUMNS = ", ".join(f"e.{name}" for name in EXTENSION_FIELDS)


def _canonical_links_sql(dialect: str, where: str, join: str = CHAIN_TO_LOG_SQL) -> str:
    at, child_id = _CANONICAL_COLUMNS[dialect]
    return (
        f"SELECT c.seq, {at}, e.request_id, e.client_id, e.agency_id, e.role, e.action, e.resource_type, "
        f"e.resource_id, {child_id}, e.method, e.route, e.status_code, e.outcome, e.jti, e.purpose_of_use, "
        f"c.prev_hash, c.hash, e.id IS NOT NULL, {_EXTENSION_COLUMNS} "
        f"FROM access_log_chain c LEFT JOIN access_log e ON {join} WHERE {where} ORDER BY c.seq"
    )


def _canonical_rows(
    connection: Connection, where: str, join: str = CHAIN_TO_LOG_SQL, *, prefetch: bool = False
) -> Iterator[tuple[Any, ...]]:
    """Stream the links with the driver's own cursor (a server-side one on PostgreSQL).

    `where` is a condition on the link `c` built from integers only, never from input; `join`
    finds the entry by id and time (one partition per link), or by id alone (every partition).
    `prefetch` (PostgreSQL): a thread fetches the next batches while the caller checks this one."""
    dialect = connection.dialect.name
    raw = connection.connection.driver_connection
    assert raw is not None
    # A walk may look one link up by id while its own cursor is open: each query its own name.
    name = "samhandling_verify" if join == CHAIN_TO_LOG_SQL else "samhandling_verify_by_id"
    cursor = raw.cursor(name=name) if dialect == "postgresql" else raw.cursor()
    try:
        if dialect == "postgresql":
            cursor.itersize = BATCH_ROWS
        cursor.execute(_canonical_links_sql(dialect, where, join))
        if prefetch and dialect == "postgresql":
            yield from _prefetched(cursor)
        else:
            while batch := cursor.fetchmany(BATCH_ROWS):
                yield from batch
    finally:
        cursor.close()


_END = object()


def _prefetched(cursor: Any) -> Generator[tuple[Any, ...], None, None]:
    """The cursor's rows, fetched by a thread up to PREFETCH_BATCHES ahead.

    The walk is two loops on two cores — PostgreSQL joining and formatting the next rows, Python
    hashing these — which one cursor run in turn leaves idle half the time. psycopg's connection
    serializes the walk's other statements (a tree-node comparison, a lookup by id) with the
    fetches. The thread is stopped and joined before the cursor closes, however the walk ends."""
    batches: queue.Queue[Any] = queue.Queue(maxsize=PREFETCH_BATCHES)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                batch = cursor.fetchmany(BATCH_ROWS)
                batches.put(batch or _END)
                if not batch:
                    return
        except BaseException as error:  # handed to the walk, which raises it
            batches.put(error)

    fetcher = threading.Thread(target=fetch, name="samhandling-verify-fetch", daemon=True)
    fetcher.start()
    try:
        while (batch := batches.get()) is not _END:
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        stop.set()
        while fetcher.is_alive():  # unblock a fetcher waiting on a full queue
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.05)
        fetcher.join()


def _checkpoint_problem(keys: KeyRing | None, checkpoint: Checkpoint, recomputed_hash: str) -> str | None:
    """None when the checkpoint holds, else the problem.

    A checkpoint signed by a key the service does not know is a failure, not a skip: otherwise
    rewriting the chain and re-signing its checkpoints with one's own key would pass.
    """
    if checkpoint.hash != recomputed_hash:
        return "the chain differs from a signed checkpoint: it was rewritten"
    state = signature_state(keys, checkpoint)
    if state == "invalid":
        return "a checkpoint's signature is not the service's: it was forged"
    if state == "unknown-key":
        return f"a checkpoint is signed by a key the service does not know (kid {checkpoint.kid[:64]})"
    return None


def run_verification(
    settings: Settings, keys: KeyRing | None, *, checkpoint: bool = True, incremental: bool = False
) -> VerificationResult:
    """Verify the log in one snapshot — all of it, or with `incremental` what follows the latest
    signed checkpoint that holds; when it is intact, sign and store its head, and the head of the
    Merkle tree over it (the root recomputed by the walk, not read from storage)."""
    engine = verifier_engine(settings)
    try:
        while True:  # first chain whatever is committed but not yet chained
            with engine.execution_options(sqlite_write=True).begin() as connection:
                if chain_pending(connection, wait=True) < BATCH_ENTRIES:
                    break
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                result = verify_chain(connection, keys, incremental=incremental)
        if checkpoint and result.valid and keys is not None and result.head_seq > 0:
            signed = sign_checkpoint(keys, result.head_seq, result.head_hash)
            tree_head = sign_tree_head(keys, TreeHead(result.head_seq, result.tree_root))
            # A writing transaction from its start: on SQLite a read-then-write transaction fails
            # at once (no busy wait) when a running service committed in between.
            with engine.execution_options(sqlite_write=True).begin() as connection:
                store_tree_head(connection, tree_head)
                store_checkpoint(connection, signed)
            result.checkpoint = signed
            result.tree_head = tree_head
        return result
    finally:
        engine.dispose()


def verifier_engine(settings: Settings) -> Engine:
    """The verifier's own engine: its statements may run up to SAMHANDLING_AUDIT_VERIFY_TIMEOUT_SECONDS,
    not the request path's statement timeout (a walk's closing count outran 10 s at 2×10⁸ entries)."""
    return create_sync_engine(settings, statement_timeout_ms=round(settings.audit_verify_timeout_seconds * 1000))
