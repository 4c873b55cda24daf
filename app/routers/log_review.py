"""Reviewing and proving the access log (scope `audit:read`): the day's review, documented
reviews, and the Merkle tree's signed head and RFC 9162 proofs for outside witnesses."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Response, Security

from app.audit.extract import head_claims, signed_current_head
from app.audit.proofs import ProofRequestInvalid, consistency_proof, inclusion_proof
from app.audit.review import ReviewRules, review_day
from app.audit.reviews import get_review, list_reviews, record_review
from app.audit.tree_store import TreeIncomplete
from app.errors import NotFound, ServiceUnavailable, unprocessable
from app.http.deps import ContextDep, CursorsDep, KeysDep, SequencerDep, SessionDep, SettingsDep
from app.http.etag import etag_of
from app.http.guard import current_caller
from app.http.idempotency import IdempotencyDep
from app.http.paging import (
    DEFAULT_LIMIT,
    CreatedPaging,
    CursorParam,
    LimitParam,
)
from app.routers.responses import ETAG_HEADER, created, guarded_router, problems, success
from app.routers.strict_query import reject_unknown_query
from app.schemas.access_log import AccessLogEntryPublic
from app.schemas.common import CalendarDate, Page
from app.schemas.log_review import (
    SEED_PATTERN,
    ConsistencyProofPublic,
    FindingPublic,
    InclusionProofPublic,
    LogReviewCreate,
    LogReviewPublic,
    LogReviewRecord,
    SignedTreeHeadPublic,
)
from app.security.caller import Caller

router = guarded_router("access-log")
T = TypeVar("T")
Auditor = Annotated[Caller, Security(current_caller, scopes=["audit:read"])]
Strict = [Depends(reject_unknown_query)]
REVIEW_DESCRIPTION = (
    "A random sample of the day's entries that anyone can reproduce from the seed — an entry is picked "
    'when SHA-256(seed ‖ ":" ‖ seq) is among the lowest `sample` of the day, so while the day is still '
    "growing only newer entries can displace earlier picks — and the rules' hits, per client. "
    "Rules: `many_children` (a client read more children than SAMHANDLING_REVIEW_MANY_CHILDREN in the day), "
    "`after_hours` (outside SAMHANDLING_REVIEW_WORKING_HOURS_START–_END in SAMHANDLING_REVIEW_TIMEZONE), "
    "`denial_burst` (SAMHANDLING_REVIEW_DENIAL_BURST denials or more within "
    "SAMHANDLING_REVIEW_DENIAL_BURST_MINUTES)."
)


async def _chain_pending(sequencer: SequencerDep) -> None:
    """What was committed before this request is chained, and in the tree, before it is read."""
    await sequencer.catch_up()


CaughtUp = Depends(_chain_pending)


@router.get(
    "/access-log/review",
    operation_id="access-log-review",
    summary="Review a day of the log: a reproducible sample and the rules' findings",
    dependencies=[*Strict, CaughtUp],
    description=REVIEW_DESCRIPTION,
)
async def review(
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    settings: SettingsDep,
    day: Annotated[CalendarDate, Query(alias="date", description="The local day (SAMHANDLING_REVIEW_TIMEZONE).")],
    sample: Annotated[int, Query(ge=0, le=200, description="How many entries to sample.")] = 20,
    seed: Annotated[
        str | None, Query(pattern=SEED_PATTERN, description="The sample's seed; a new one when left out.")
    ] = None,
) -> LogReviewPublic:
    """A random sample of the day's entries that anyone can reproduce from the seed — an entry is
    picked when SHA-256(seed ‖ ":" ‖ seq) is among the lowest `sample` of the day, so while the day
    is still growing only newer entries can displace earlier picks — and the rules' hits, per
    client."""
    context.audit("access_log")
    chosen_seed = seed or secrets.token_hex(8)
    result = await review_day(session, ReviewRules.from_settings(settings), day, chosen_seed, sample)
    return LogReviewPublic(
        date=result.date,
        seed=result.seed,
        day_entries=result.day_entries,
        sample=[AccessLogEntryPublic.model_validate(entry) for entry in result.sample],
        findings=[
            FindingPublic(
                rule=finding.rule,
                client_id=finding.client_id,
                entry_count=finding.entry_count,
                entries=[AccessLogEntryPublic.model_validate(entry) for entry in finding.entries],
            )
            for finding in result.findings
        ],
    )


@router.post(
    "/access-log/reviews",
    operation_id="access-log-reviews-create",
    summary="Document a log review",
    status_code=201,
    responses={
        201: created("Documented.", ("GetReview", "access-log-reviews-get", {"review_id": "$response.body#/id"}))
    },
)
async def document_review(
    data: LogReviewCreate,
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
) -> LogReviewRecord:
    """Record that a period of the log was reviewed, by whom, how many entries were checked and
    what was found (HSLF-FS 2016:40 asks for documented reviews). Reviews are append-only: they
    cannot be changed or deleted, also not in the database."""
    row = await record_review(session, caller, data)
    context.audit("access_log_review", row["id"])
    record = LogReviewRecord.model_validate(row)
    response.headers["Location"] = f"/api/v1/access-log/reviews/{record.id}"
    response.headers["ETag"] = etag_of(record)
    return record


@router.get(
    "/access-log/reviews",
    operation_id="access-log-reviews-list",
    summary="List documented log reviews",
    dependencies=Strict,
)
async def documented_reviews(
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[LogReviewRecord]:
    """Every documented review, oldest first."""
    context.audit("access_log_review")
    paging = CreatedPaging.resume(cursors, cursor, "log-reviews", caller.client_id, {}, limit)
    rows, next_cursor = paging.cut(await list_reviews(session, paging.after, paging.fetch))
    items = [LogReviewRecord.model_validate(row, from_attributes=True) for row in rows]
    return Page[LogReviewRecord](items=items, next_cursor=next_cursor)


@router.get(
    "/access-log/reviews/{review_id}",
    operation_id="access-log-reviews-get",
    summary="Read a documented log review",
    dependencies=Strict,
    responses={200: success("The review.", ETAG_HEADER), **problems(404)},
)
async def documented_review(
    review_id: uuid.UUID, caller: Auditor, context: ContextDep, session: SessionDep, response: Response
) -> LogReviewRecord:
    """One documented review."""
    context.audit("access_log_review", review_id)
    row = await get_review(session, review_id)
    if row is None:
        raise NotFound(f"There is no log review {review_id}.")
    record = LogReviewRecord.model_validate(row, from_attributes=True)
    response.headers["ETag"] = etag_of(record)
    return record


@router.get(
    "/access-log/tree-head",
    operation_id="access-log-tree-head",
    summary="The Merkle tree's current head, signed",
    dependencies=[*Strict, CaughtUp],
)
async def tree_head(caller: Auditor, context: ContextDep, session: SessionDep, keys: KeysDep) -> SignedTreeHeadPublic:
    """The RFC 9162 root of the Merkle tree over every entry chained so far, signed now with the
    service's key (as in the JWKS). A witness keeps it, and later asks for a consistency proof
    from its size to a newer head's (`samhandling audit witness`)."""
    context.audit("access_log")
    head = await session.run_sync(lambda sync: _tree(lambda: signed_current_head(sync.connection(), keys)))
    return SignedTreeHeadPublic.model_validate(head_claims(head))


@router.get(
    "/access-log/proofs/inclusion",
    operation_id="access-log-inclusion-proof",
    summary="An RFC 9162 inclusion proof of one entry",
    dependencies=[*Strict, CaughtUp],
)
async def inclusion(
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    seq: Annotated[int, Query(ge=1, le=2**62, description="The entry.")],
    tree_size: Annotated[int, Query(ge=1, le=2**62, description="The tree it is to be proved in.")],
) -> InclusionProofPublic:
    """The audit path from entry `seq` (leaf `seq - 1`) to the root of the tree of the first
    `tree_size` entries. 422 when the tree is smaller than `tree_size` or `seq` lies outside it."""
    context.audit("access_log")
    proof = await session.run_sync(lambda sync: _tree(lambda: inclusion_proof(sync.connection(), seq, tree_size)))
    return InclusionProofPublic.model_validate(proof, from_attributes=True)


@router.get(
    "/access-log/proofs/consistency",
    operation_id="access-log-consistency-proof",
    summary="An RFC 9162 consistency proof between two tree sizes",
    dependencies=[*Strict, CaughtUp],
)
async def consistency(
    caller: Auditor,
    context: ContextDep,
    session: SessionDep,
    first: Annotated[int, Query(ge=1, le=2**62, description="The older tree's size.")],
    second: Annotated[int, Query(ge=1, le=2**62, description="The newer tree's size.")],
) -> ConsistencyProofPublic:
    """The proof that the tree of the first `second` entries extends the tree of the first
    `first`: with the two signed roots a witness checks that the log only grew, without seeing
    any entry."""
    context.audit("access_log")
    proof = await session.run_sync(lambda sync: _tree(lambda: consistency_proof(sync.connection(), first, second)))
    return ConsistencyProofPublic.model_validate(proof, from_attributes=True)


def _tree(read: Callable[[], T]) -> T:
    """A proof request the tree cannot answer is the caller's 422; a damaged tree is 503."""
    try:
        return read()
    except ProofRequestInvalid as error:
        raise unprocessable(["query"], str(error)) from None
    except TreeIncomplete:
        raise ServiceUnavailable("The stored Merkle tree is incomplete; verification reports where.") from None
