"""Consent records: record, read, list and withdraw (scopes `consents:*`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response, Security

from app.errors import ConsentAlreadyConfirmed, ConsentAlreadyWithdrawn, ConsentExpired
from app.http.deps import ContextDep, CursorsDep, SessionDep, SettingsDep
from app.http.etag import with_etag
from app.http.guard import current_caller
from app.http.idempotency import IdempotencyDep
from app.http.loaders import changeable, visible
from app.http.paging import (
    DEFAULT_LIMIT,
    CreatedPaging,
    CursorParam,
    LimitParam,
)
from app.models.base import utcnow
from app.models.consent import Consent
from app.routers.responses import ETAG_HEADER, created, guarded_router, problems, success
from app.schemas.common import Page
from app.schemas.consent import (
    ConsentCreate,
    ConsentPublic,
    ConsentWithdraw,
    Grantor,
    PartyPublic,
    WithdrawalPublic,
)
from app.security.caller import Caller
from app.services import consents
from app.services.consents import ConsentView

router = guarded_router("consents")
ConsentsReader = Annotated[Caller, Security(current_caller, scopes=["consents:read"])]
ConsentsWriter = Annotated[Caller, Security(current_caller, scopes=["consents:write"])]
VisibleConsent = Annotated[Consent, Depends(visible(Consent, "consent", "consent_id"))]
ChangeableConsent = Annotated[Consent, Depends(changeable(Consent, "consent", "consent_id"))]


def _public(view: ConsentView) -> ConsentPublic:
    consent, withdrawal = view.consent, view.withdrawal
    return ConsentPublic(
        id=consent.id,
        child_id=consent.child_id,
        agency_id=consent.agency_id,
        granted_by=[Grantor.model_validate(grantor) for grantor in consent.granted_by],
        agency_ids=view.agency_ids,
        parties=[PartyPublic(agency_id=party.agency_id, confirmed_at=party.confirmed_at) for party in view.parties],
        record_types=view.record_types,
        purpose=consent.purpose,
        valid_from=consent.valid_from,
        valid_until=consent.valid_until,
        status=view.status(utcnow()),
        withdrawal=None
        if withdrawal is None
        else WithdrawalPublic(
            withdrawn_at=withdrawal.withdrawn_at,
            withdrawn_by=Grantor.model_validate(withdrawal.withdrawn_by),
            reason=withdrawal.reason,
            agency_id=withdrawal.agency_id,
        ),
        created_at=consent.created_at,
    )


def _respond(response: Response, view: ConsentView) -> ConsentPublic:
    return with_etag(response, _public(view))


@router.post(
    "/consents",
    operation_id="consents-create",
    summary="Record a consent",
    status_code=201,
    responses={
        201: created(
            "Recorded.",
            ("GetConsent", "consents-get", {"consent_id": "$response.body#/id"}),
            ("Confirm", "consents-confirm", {"consent_id": "$response.body#/id"}),
            ("Withdraw", "consents-withdraw", {"consent_id": "$response.body#/id"}),
        )
    },
)
async def record_consent(
    data: ConsentCreate,
    caller: ConsentsWriter,
    context: ContextDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    _idempotency: IdempotencyDep,
) -> ConsentPublic:
    """Record that guardians (and, by age and maturity, the child) lift secrecy between the
    named agencies — at least two, the caller's among them — for the stated purpose, kinds of
    record and time (`valid_until` at most 10 years ahead, a setting). Never a blanket waiver;
    never edited afterwards: a change is a new consent."""
    consents.ensure_stated_period(data, settings.consent_max_years)
    view = await consents.record_consent(session, caller, data)
    context.audit("consent", view.consent.id, view.consent.child_id)
    response.headers["Location"] = f"/api/v1/consents/{view.consent.id}"
    return _respond(response, view)


@router.get(
    "/consents/{consent_id}",
    operation_id="consents-get",
    summary="Get a consent",
    responses={200: success("The consent.", ETAG_HEADER), **problems(404)},
)
async def get_consent(
    caller: ConsentsReader, consent: VisibleConsent, session: SessionDep, response: Response
) -> ConsentPublic:
    """Visible to the agencies the consent names. `status` is derived now: pending, active,
    expired or withdrawn."""
    (view,) = await consents.views_of(session, [consent])
    return _respond(response, view)


@router.get("/consents", operation_id="consents-list", summary="List consents")
async def list_consents(
    caller: ConsentsReader,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    child_id: uuid.UUID | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[ConsentPublic]:
    """Consents that name the caller's agency, oldest first, withdrawn and expired ones included."""
    binding = {"child_id": child_id}
    paging = CreatedPaging.resume(cursors, cursor, "consents", caller.client_id, binding, limit)
    rows, next_cursor = paging.cut(await consents.list_consents(session, caller, child_id, paging.after, paging.fetch))
    context.audit_rows("consent", rows)
    views = await consents.views_of(session, rows)
    return Page[ConsentPublic](items=[_public(view) for view in views], next_cursor=next_cursor)


@router.post(
    "/consents/{consent_id}/withdraw",
    operation_id="consents-withdraw",
    summary="Withdraw a consent",
    responses={200: success("Withdrawn.", ETAG_HEADER), **problems(404, ConsentAlreadyWithdrawn)},
)
async def withdraw_consent(
    data: ConsentWithdraw,
    caller: ConsentsWriter,
    session: SessionDep,
    response: Response,
    consent: ChangeableConsent,
) -> ConsentPublic:
    """Any named agency records a withdrawal. It takes effect at once: from the moment this
    request commits, the access the consent gave is gone. A second withdrawal is 409."""
    return _respond(response, await consents.withdraw(session, caller, consent, data))


@router.post(
    "/consents/{consent_id}/confirm",
    operation_id="consents-confirm",
    summary="Confirm a consent for your agency's records",
    responses={
        200: success("Confirmed.", ETAG_HEADER),
        **problems(404, ConsentAlreadyConfirmed, ConsentAlreadyWithdrawn, ConsentExpired),
    },
)
async def confirm_consent(
    caller: ConsentsWriter, consent: ChangeableConsent, session: SessionDep, response: Response
) -> ConsentPublic:
    """A named agency confirms that the family's consent lets it disclose its records (OSL: the
    agency that holds a record decides). From this request's commit, while the consent is active,
    it opens the caller's records of the covered kinds to the other named agencies. The agency
    that recorded the consent confirmed it by recording. A second confirmation, or one of a
    withdrawn or expired consent, is 409; an agency the consent does not name gets 404."""
    return _respond(response, await consents.confirm(session, caller, consent))
