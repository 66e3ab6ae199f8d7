"""Card routes: the staff view, the QR text and print files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from idsvc.cards import activation, lifecycle, service
from idsvc.cards.models import Card
from idsvc.cards.schemas import (
    ActivateCardRequest,
    CardQR,
    CardStaffView,
    CardStateView,
    FeeRequest,
    ReissueRequest,
    ReplaceRequest,
    RevokeRequest,
    SuspendRequest,
)
from idsvc.clock import local_today
from idsvc.db import SessionDep
from idsvc.errors import Invalid
from idsvc.runtime import Runtime, RuntimeDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

router = APIRouter(tags=["cards"])
public_router = APIRouter(tags=["cards"])
CardReader = Annotated[Staff, Depends(require(Permission.READ_CARDS))]
_NO_STORE = {"Cache-Control": "no-store"}


def _open(
    session: SessionDep, runtime: Runtime, staff: Staff, number: str, purpose: str
) -> service.CardRecord:
    return service.open_card(
        session, number=number, keys=runtime.master_key, actor=actor_of(staff), purpose=purpose
    )


def _print(session: SessionDep, runtime: Runtime, staff: Staff, number: str,
           name: str) -> bytes:
    _, files = service.print_card(session, number=number, keys=runtime.master_key,
                                  actor=actor_of(staff),
                                  layout=service.PrintLayout.from_settings(runtime.settings),
                                  files=(name,))
    return files[name]


@router.get("/cards/{card_number}")
def read_card(
    session: SessionDep, runtime: RuntimeDep, card_number: str, staff: CardReader
) -> CardStaffView:
    record = _open(session, runtime, staff, card_number, "read")
    card, person = record.card, record.person
    return CardStaffView(
        card_number=card.number,
        version=card.version,
        state=card.state,
        issued_at=card.issued_at,
        expires_at=card.expires_on,
        kid=card.kid,
        qr_has_photo=card.qr_has_photo,
        status_list=card.status_list_id,
        status_index=card.status_idx,
        full_name=person.full_name,
        **person.model_dump(
            include={
                "given_name",
                "middle_name",
                "family_name",
                "date_of_birth",
                "gender",
                "address",
                "preferred_languages",
                "emergency_contact",
                "caretaker",
                "veteran",
                "organ_donor",
            }
        ),
    )


@router.get("/cards/{card_number}/qr")
def card_qr(
    session: SessionDep, runtime: RuntimeDep, card_number: str, staff: CardReader
) -> CardQR:
    record = _open(session, runtime, staff, card_number, "qr")
    return CardQR(card_number=record.card.number, version=record.card.version, qr=record.qr_text)


@router.get("/cards/{card_number}/front.png", response_class=Response)
def card_front(session: SessionDep, runtime: RuntimeDep, card_number: str,
               staff: CardReader) -> Response:
    return Response(_print(session, runtime, staff, card_number, "front.png"),
                    media_type="image/png", headers=_NO_STORE)


@router.get("/cards/{card_number}/back.png", response_class=Response)
def card_back(session: SessionDep, runtime: RuntimeDep, card_number: str,
              staff: CardReader) -> Response:
    return Response(_print(session, runtime, staff, card_number, "back.png"),
                    media_type="image/png", headers=_NO_STORE)


@router.get("/cards/{card_number}/card.pdf", response_class=Response)
def card_pdf(session: SessionDep, runtime: RuntimeDep, card_number: str,
             staff: CardReader) -> Response:
    headers = {**_NO_STORE, "Content-Disposition": f'inline; filename="card-{card_number}.pdf"'}
    return Response(_print(session, runtime, staff, card_number, "card.pdf"),
                    media_type="application/pdf", headers=headers)


CardManager = Annotated[Staff, Depends(require(Permission.MANAGE_CARDS))]


def _state(card: Card) -> CardStateView:
    return CardStateView(card_number=card.number, version=card.version, state=card.state,
                         state_reason=card.state_reason, issue_reason=card.issue_reason,
                         issued_at=card.issued_at, expires_at=card.expires_on)


def _context(session: SessionDep, runtime: Runtime, staff: Staff) -> service.IssueContext:
    return service.issue_context(session, settings=runtime.settings, keys=runtime.master_key,
                                 policy=runtime.policy, actor=actor_of(staff),
                                 issued_by=staff.id, centre_id=staff.centre_id)


def _fee(body: FeeRequest) -> service.Fee:
    return service.Fee(cents=body.fee_cents, waived=body.fee_waived)


@router.post("/cards/{card_number}/revoke")
def revoke(session: SessionDep, card_number: str, body: RevokeRequest,
           staff: CardManager) -> CardStateView:
    card = service.find_card(session, card_number, for_update=True)
    return _state(lifecycle.revoke(session, card=card, reason=lifecycle.RevokeReason(body.reason),
                                   actor=actor_of(staff)))


@router.post("/cards/{card_number}/suspend")
def suspend(session: SessionDep, card_number: str, body: SuspendRequest,
            staff: CardManager) -> CardStateView:
    card = service.find_card(session, card_number, for_update=True)
    return _state(lifecycle.suspend(session, card=card, reason=body.reason,
                                    actor=actor_of(staff)))


@router.post("/cards/{card_number}/reinstate")
def reinstate(session: SessionDep, card_number: str, staff: CardManager) -> CardStateView:
    card = service.find_card(session, card_number, for_update=True)
    return _state(lifecycle.reinstate(session, card=card, actor=actor_of(staff)))


@router.post("/cards/{card_number}/replace", status_code=201)
def replace(session: SessionDep, runtime: RuntimeDep, card_number: str, body: ReplaceRequest,
            staff: CardManager) -> CardStateView:
    card = service.find_card(session, card_number, for_update=True)
    return _state(lifecycle.replace(session, card=card, reason=body.reason,
                                    context=_context(session, runtime, staff), fee=_fee(body)))


@router.post("/cards/{card_number}/renew", status_code=201)
def renew(session: SessionDep, runtime: RuntimeDep, card_number: str, staff: CardManager,
          body: FeeRequest | None = None) -> CardStateView:
    card = service.find_card(session, card_number, for_update=True)
    return _state(lifecycle.renew(session, card=card, context=_context(session, runtime, staff),
                                  today=local_today(runtime.settings.timezone),
                                  fee=_fee(body or FeeRequest())))


@router.post("/cards/{card_number}/reissue", status_code=201)
def reissue(session: SessionDep, runtime: RuntimeDep, card_number: str, body: ReissueRequest,
            staff: CardManager) -> CardStateView:
    card = service.find_card(session, card_number, for_update=True)
    changes = body.changes.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("Name at least one field to change.", code="no_changes")
    return _state(lifecycle.reissue(session, card=card, changes=changes,
                                    context=_context(session, runtime, staff)))


@public_router.post("/cards/activate", response_model=CardStateView,
                    responses={401: {}, 429: {}})
def activate(session: SessionDep, body: ActivateCardRequest) -> Response:
    """A mailed card's holder activates it with the code on the mailer (no login): it
    verifies as valid at once, and an older version it renews stops."""
    outcome = activation.activate_with_code(session, number_text=body.card_number,
                                            code=body.code)
    if isinstance(outcome, Card):
        return JSONResponse(_state(outcome).model_dump(mode="json"))
    return JSONResponse(outcome.body(), status_code=outcome.status_code,
                        headers=outcome.headers())
