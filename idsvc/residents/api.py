"""Resident self-service: activation, login, my card, my benefits, my history, lost card."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from idsvc.cards import service as cards
from idsvc.cards.models import Card
from idsvc.db import SessionDep
from idsvc.residents import accounts, renewal, selfservice
from idsvc.residents.deps import CurrentResident
from idsvc.residents.schemas import (
    ActivateRequest,
    LoginRequest,
    RenewalOffer,
    RenewRequest,
    ReportLost,
    ResidentChanges,
    ResidentToken,
)
from idsvc.runtime import RuntimeDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

public_router = APIRouter(tags=["residents"])
resident_router = APIRouter(tags=["residents"])
router = APIRouter(tags=["residents"])
CardStaff = Annotated[Staff, Depends(require(Permission.MANAGE_CARDS))]


class ActivationCode(BaseModel):
    code: str


class MyCard(BaseModel):
    card_number: str
    version: int
    state: str
    issued_at: datetime
    expires_at: date | None


class MyBenefit(BaseModel):
    benefit_id: int
    name: str
    partner: str
    category: str
    available: bool
    reason: str | None
    last_used_at: datetime | None
    available_again: str | None


class MyRedemption(BaseModel):
    id: int
    benefit: str
    partner: str
    redeemed_at: datetime
    voided_at: datetime | None


class MyCheck(BaseModel):
    at: datetime
    partner: str
    partner_kind: str
    method: str
    result: str


def _my_card(card: Card) -> MyCard:
    return MyCard(card_number=card.number, version=card.version, state=card.state,
                  issued_at=card.issued_at, expires_at=card.expires_on)


@router.post("/cards/{card_number}/activation-code", status_code=201)
def activation_code(session: SessionDep, card_number: str, staff: CardStaff) -> ActivationCode:
    """A one-time code for the resident to set a PIN (shown once; replaces any earlier)."""
    card = cards.find_card(session, card_number)
    return ActivationCode(code=accounts.issue_activation_code(
        session, resident_id=card.resident_id, actor=actor_of(staff)))


@public_router.post("/residents/activate", status_code=204)
def activate(session: SessionDep, body: ActivateRequest) -> Response:
    accounts.activate(session, resident_id=selfservice.resident_for_card(session,
                                                                         body.card_number),
                      code=body.code, secret=body.secret)
    return Response(status_code=204)


@public_router.post("/residents/login", response_model=ResidentToken,
                   responses={401: {}, 429: {}})
def login(session: SessionDep, body: LoginRequest) -> Response:
    outcome = accounts.login(session, resident_id=selfservice.resident_for_card(
        session, body.card_number), secret=body.secret)
    if isinstance(outcome, str):
        return JSONResponse(ResidentToken(access_token=outcome).model_dump())
    return JSONResponse(outcome.body(), status_code=outcome.status_code,
                        headers=outcome.headers())


@resident_router.post("/me/logout", status_code=204)
def logout(session: SessionDep, resident: CurrentResident) -> Response:
    accounts.end_sessions(session, resident_id=resident)
    return Response(status_code=204)


@resident_router.get("/me/card")
def my_card(session: SessionDep, resident: CurrentResident) -> MyCard:
    card = selfservice.my_card(session, resident)
    return _my_card(card)


@resident_router.get("/me/benefits")
def my_benefits(session: SessionDep, runtime: RuntimeDep,
                resident: CurrentResident) -> list[MyBenefit]:
    return [MyBenefit(benefit_id=s.benefit.id, name=s.benefit.name, partner=s.partner.name,
                      category=s.benefit.category, available=s.available, reason=s.reason,
                      last_used_at=s.last_used_at, available_again=s.available_again)
            for s in selfservice.my_benefits(session, resident_id=resident,
                                             keys=runtime.master_key,
                                             timezone=runtime.settings.timezone)]


@resident_router.get("/me/redemptions")
def my_redemptions(session: SessionDep, runtime: RuntimeDep,
                   resident: CurrentResident) -> list[MyRedemption]:
    return [MyRedemption(id=r.id, benefit=benefit, partner=partner, redeemed_at=r.redeemed_at,
                         voided_at=r.voided_at)
            for r, benefit, partner in selfservice.my_redemptions(
                session, resident_id=resident, keys=runtime.master_key)]


@resident_router.get("/me/verifications")
def my_verifications(session: SessionDep, runtime: RuntimeDep,
                     resident: CurrentResident) -> list[MyCheck]:
    """Every time a partner checked this card (kept 30 days), and with what verdict."""
    return [MyCheck(**c.__dict__) for c in selfservice.my_verifications(
        session, resident_id=resident, keys=runtime.master_key)]


@resident_router.post("/me/report-lost")
def report_lost(session: SessionDep, body: ReportLost, resident: CurrentResident) -> MyCard:
    card = selfservice.report_lost(session, resident_id=resident, reason=body.reason)
    return _my_card(card)


@resident_router.patch("/me", status_code=204)
def update_me(session: SessionDep, runtime: RuntimeDep, body: ResidentChanges,
              resident: CurrentResident) -> Response:
    selfservice.update_profile(session, resident_id=resident,
                               changes=body.model_dump(exclude_unset=True),
                               keys=runtime.master_key)
    return Response(status_code=204)


@resident_router.get("/me/renewal")
def renewal_offer(session: SessionDep, runtime: RuntimeDep,
                  resident: CurrentResident) -> RenewalOffer:
    current = renewal.offer(session, resident_id=resident, keys=runtime.master_key,
                            policy=runtime.policy, today=renewal.today(runtime))
    window = current.window
    return RenewalOffer(card_number=current.card.number, version=current.card.version,
                        offered=current.refusal is None,
                        refusal=current.refusal.code if current.refusal else None,
                        opens=window.opens if window else None,
                        closes=window.closes if window else None,
                        full_name=current.person.full_name, address=current.person.address)


@resident_router.post("/me/renew", status_code=201)
def renew(session: SessionDep, runtime: RuntimeDep, body: RenewRequest,
          resident: CurrentResident) -> MyCard:
    """Renew online: a new version is mailed; the old card stays valid until it is
    activated (or 30 days after posting)."""
    card = renewal.renew_online(session, resident_id=resident, unchanged=body.unchanged,
                                context=renewal.context_for(session, runtime, resident),
                                today=renewal.today(runtime))
    return _my_card(card)
