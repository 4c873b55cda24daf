"""The access log: entries (append-only), the hash chain over them, its head and checkpoints,
and the Merkle tree over the chain with its signed tree heads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, LargeBinary, SmallInteger, String, Uuid
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime

GENESIS_HASH = "0" * 64
# SQLite only auto-numbers a primary key declared exactly INTEGER; PostgreSQL gets a bigint.
AutoBigInteger = BigInteger().with_variant(Integer(), "sqlite")


class AccessLogEntry(SQLModel, table=True):
    """One access: who, when, what, which record, which child, with what outcome.

    Requests only ever INSERT entries (the database refuses UPDATE, DELETE and TRUNCATE, see
    the migrations), inside their own transaction, without any shared lock. `txid` is the
    inserting transaction's id on PostgreSQL (0 on SQLite); the sequencer chains committed
    entries in (txid, id) order — see app/audit/sequencer.py.

    On PostgreSQL the table is partitioned by month on `at` (revision 0027, app/audit/
    partitions.py), and its primary key there is (id, at), as a partitioned table's key must
    hold the partition key; `id` stays unique, drawn from one sequence. The model declares the
    SQLite form (an auto-numbered id); alembic does not compare primary keys, and the partitions
    are left out of the comparison (app/ops/migrations.py include_in_comparison).
    """

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_txid_id", "txid", "id"),
        Index("ix_access_log_child_id_txid_id", "child_id", "txid", "id"),  # the child report: migration 0023
        Index("ix_access_log_client_id_at", "client_id", "at"),
        Index("ix_access_log_at", "at"),
    )

    id: int | None = Field(default=None, sa_column=Column(AutoBigInteger, primary_key=True, autoincrement=True))
    txid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    request_id: str = Field(sa_column=Column(String(128), nullable=False))
    client_id: str | None = Field(default=None, sa_column=Column(String(128)))
    agency_id: str | None = Field(default=None, sa_column=Column(String(64)))
    role: str | None = Field(default=None, sa_column=Column(String(32)))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    resource_type: str | None = Field(default=None, sa_column=Column(String(32)))
    resource_id: str | None = Field(default=None, sa_column=Column(String(64)))
    child_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    method: str = Field(sa_column=Column(String(10), nullable=False))
    route: str | None = Field(default=None, sa_column=Column(String(200)))
    status_code: int = Field(sa_column=Column(SmallInteger, nullable=False))
    outcome: str = Field(sa_column=Column(String(10), nullable=False))
    jti: str | None = Field(default=None, sa_column=Column(String(64)))
    purpose_of_use: str | None = Field(default=None, sa_column=Column(String(200)))
    # NULL: one request. Else the entry stands for this many identical anonymous denials
    # (app/audit/aggregation.py). Hashed only when set (app/audit/chain.py EXTENSION_FIELDS).
    repeat_count: int | None = Field(default=None, sa_column=Column(Integer))
    # Why the rule let the caller see the record (app/security/access.py), and the consent that
    # opened it; NULL where no child record was disclosed. Hashed when set, like repeat_count.
    # consent_id is text (the hyphenated UUID), already in the form the hash covers.
    access_basis: str | None = Field(default=None, sa_column=Column(String(16)))
    consent_id: str | None = Field(default=None, sa_column=Column(String(36)))


class AccessLogChainLink(SQLModel, table=True):
    """Entry `entry_id` is number `seq` of the chain; `hash` covers its content, seq and prev_hash.

    Append-only like the entries. Written only by the sequencer, one pass at a time.
    """

    __tablename__ = "access_log_chain"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    entry_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    # The entry's `at`, copied when it is chained (not hashed: the entry's own is). Joins from
    # the chain to the partitioned log name it, so PostgreSQL reads one month's partition per
    # link, not all of them (migration 0029, app/audit/queries.py `chain_to_log`).
    at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ChainHead(SQLModel, table=True):
    """The single row saying where the chain ends and which entry the sequencer chained last.

    `tree_size`: how many of the chain's entries the stored Merkle tree covers (the sequencer
    extends it with the chain; on a log older than the tree it catches up in batches).
    """

    __tablename__ = "access_log_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    last_txid: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_entry_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    tree_size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class AccessLogCheckpoint(SQLModel, table=True):
    """A signed statement "the chain's head was (seq, hash) at this time" (append-only).

    The hashes alone prove that entries were not changed after the fact only as long as nobody
    rewrote the chain from some point on and recomputed every later hash. A checkpoint signed
    with the service's private key — which the database does not hold — pins the head, so such
    a rewrite is found even by someone with full write access to the database.
    """

    __tablename__ = "access_log_checkpoints"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    kid: str = Field(sa_column=Column(String(64), nullable=False))
    signature: str = Field(sa_column=Column(String(2000), nullable=False))


class AccessLogTreeNode(SQLModel, table=True):
    """The hash of a complete, aligned subtree of the Merkle tree over the chain (append-only).

    Node (`level`, `position`) covers leaves [position·2^level, (position+1)·2^level), i.e. the
    entries with seq position·2^level + 1 … (position+1)·2^level. Only levels from
    app/audit/tree_store.py's MIN_STORED_LEVEL up are stored; smaller subtrees are hashed from
    the chain's own `hash` column when a proof needs them. `hash` holds the 32 raw bytes.
    """

    __tablename__ = "access_log_tree_nodes"
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    position: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AccessLogTreeHead(SQLModel, table=True):
    """A signed statement "the tree of the first `tree_size` entries has this root" (append-only).

    Stored with each checkpoint; `signature` is a compact JWS over {"root_hash", "timestamp",
    "tree_size"} (app/audit/tree_heads.py), so a witness holding it can demand consistency
    proofs from it to any later head.
    """

    __tablename__ = "access_log_tree_heads"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    kid: str = Field(sa_column=Column(String(64), nullable=False))
    signature: str = Field(sa_column=Column(String(2000), nullable=False))


class AccessLogReview(SQLModel, table=True):
    """A documented review of the log (HSLF-FS 2016:40 4 kap 9 §): append-only, like the log."""

    __tablename__ = "access_log_reviews"
    __table_args__ = (Index("ix_access_log_reviews_created_at_id", "created_at", "id"),)

    id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    period_from: date = Field(sa_column=Column(Date, nullable=False))
    period_to: date = Field(sa_column=Column(Date, nullable=False))
    seed: str | None = Field(default=None, sa_column=Column(String(64)))
    entries_checked: int = Field(sa_column=Column(Integer, nullable=False))
    findings: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    reviewer: str = Field(sa_column=Column(String(200), nullable=False))
    client_id: str = Field(sa_column=Column(String(128), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AccessLogRetirement(SQLModel, table=True):
    """A month of the log dropped by retention (migration 0028, app/audit/log_retention.py).

    The entries at chain positions `first_seq` … `last_seq` are gone, except those at
    `kept_seqs` (entries of a neighbouring month that committed in between); their links stay.
    `checkpoint_seq`: the signed checkpoint, later than all of them, that a verification starts
    from. Signed (a compact JWS over every other column), so a row added by hand to excuse
    deleted entries is found. Append-only.
    """

    __tablename__ = "access_log_retirements"

    partition: str = Field(sa_column=Column(String(64), primary_key=True, autoincrement=False))
    month_from: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    month_to: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    first_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    entries: int = Field(sa_column=Column(BigInteger, nullable=False))
    kept_seqs: list[int] = Field(sa_column=Column(JSON, nullable=False))
    checkpoint_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    retired_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    kid: str = Field(sa_column=Column(String(64), nullable=False))
    signature: str = Field(sa_column=Column(String(4000), nullable=False))
