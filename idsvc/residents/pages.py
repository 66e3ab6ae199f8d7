"""Resident pages: activate, log in, my card, report a lost card, my settings.

Thin pages over the same functions as `/api/v1/residents/...` and `/api/v1/me/...`
(`accounts` and `selfservice`): the back-off, the lockout and what a resident may see
or change are decided there, never here. Logged-in pages know the resident only from
the `idsvc_resident` cookie, so no page takes a card number or resident id once in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from idsvc.cards import activation
from idsvc.cards import service as cards
from idsvc.cards.lifecycle import renewal_of
from idsvc.cards.models import Card
from idsvc.cards.service import CardState
from idsvc.clock import local_date, local_time, local_today
from idsvc.db import SessionDep
from idsvc.errors import DomainError, Invalid
from idsvc.languages import LANGUAGES as PREFERRED_LANGUAGES
from idsvc.residents import accounts, renewal, selfservice
from idsvc.residents import service as residents
from idsvc.residents.schemas import ResidentChanges
from idsvc.runtime import Runtime, runtime_of
from idsvc.sessions import page_idle
from idsvc.web import i18n
from idsvc.web.cookies import (
    clear_session_cookie,
    session_token,
    set_language_cookie,
    set_session_cookie,
)
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import NextPath, Password, by_field
from idsvc.web.navigation import safe_next
from idsvc.web.templating import render

RESIDENT_COOKIE = "idsvc_resident"
COOKIE_PATH = "/resident"
HOME = "/resident/"

public_router = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False)
Secret = Password  # the PIN
CardNumber = Annotated[str, Form(max_length=32)]


def page_resident(request: Request, session: SessionDep) -> str:
    """The resident of the page cookie; it also ends after `page_idle_minutes` unused."""
    token = session_token(request, RESIDENT_COOKIE,
                          message="Log in with your card number and PIN.")
    return accounts.resident_for_token(session, token,
                                       idle=page_idle(runtime_of(request).settings))


PageResident = Annotated[str, Depends(page_resident)]


def _sign_out(response: Response) -> Response:
    return clear_session_cookie(response, RESIDENT_COOKIE, path=COOKIE_PATH)


# --- activation and login -------------------------------------------------------------

@public_router.get("/resident/activate")
def activate_form(request: Request) -> Response:
    return render(request, "resident/activate.html", {})


@public_router.post("/resident/activate", dependencies=[Depends(check_csrf)])
def activate(request: Request, session: SessionDep, card_number: CardNumber,
             code: Annotated[str, Form(max_length=32)], secret: Secret,
             secret_again: Secret) -> Response:
    """Set a PIN with the one-time code; a mismatch is caught before the code is tried."""
    form = {"card_number": card_number, "code": code}
    if secret != secret_again:
        return render(request, "resident/activate.html", {**form, "error": "mismatch"},
                      status_code=422)
    try:
        accounts.activate(session, resident_id=selfservice.resident_for_card(session,
                                                                             card_number),
                          code=code, secret=secret)
    except DomainError as refusal:
        return render(request, "resident/activate.html", {**form, "error": refusal.code},
                      status_code=refusal.status_code)
    return RedirectResponse("/resident/login?activated=1", status_code=303)


@public_router.get("/resident/login")
def login_form(request: Request, next: str = "", activated: str = "") -> Response:
    return render(request, "resident/login.html", {"next": safe_next(next, ""),
                                                   "activated": activated == "1"})


@public_router.post("/resident/login", dependencies=[Depends(check_csrf)])
def login(request: Request, session: SessionDep, card_number: CardNumber, secret: Secret,
          next: NextPath = "") -> Response:
    """The same answer as `POST /api/v1/residents/login`: a lock reads as a wrong PIN."""
    resident_id = selfservice.resident_for_card(session, card_number)
    outcome = accounts.login(session, resident_id=resident_id, secret=secret)
    if not isinstance(outcome, str):
        return render(request, "resident/login.html",
                      {"next": safe_next(next, ""), "error": outcome.code,
                       "card_number": card_number}, status_code=outcome.status_code)
    runtime = runtime_of(request)
    response = RedirectResponse(safe_next(next, HOME), status_code=303)
    set_session_cookie(response, runtime.settings, RESIDENT_COOKIE, outcome,
                       lifetime=accounts.SESSION_LIFETIME, path=COOKIE_PATH)
    if i18n.LANGUAGE_COOKIE not in request.cookies and resident_id is not None:
        _remember_language(response, session, runtime, resident_id)
    return response


def _remember_language(response: Response, session: Session, runtime: Runtime,
                       resident_id: str) -> None:
    """A first visit in the resident's own language: their first preferred language that
    has a page catalog (nothing is set when none has, so the browser's choice stands)."""
    preferred = residents.read_personal_data(residents.get_resident(session, resident_id),
                                             runtime.master_key).preferred_languages
    code = i18n.for_resident(preferred)
    if i18n.LANGUAGES[code].iso639_3 in preferred:
        set_language_cookie(response, runtime.settings, code)


@router.post("/resident/logout", dependencies=[Depends(check_csrf)])
def logout(session: SessionDep, resident: PageResident) -> Response:
    """Logs out everywhere, as `POST /api/v1/me/logout` does."""
    accounts.end_sessions(session, resident_id=resident)
    return _sign_out(RedirectResponse("/resident/login", status_code=303))


# --- my card ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CardView:
    """The card as the resident's page words it: the state, with expiry folded in."""

    number: str
    state: str  # valid, suspended, revoked or expired
    reported: str | None  # lost or stolen, when the resident reported it
    issued_on: date
    expires_on: date | None
    renew_until: date | None  # set while inside the renewal window


def _card_view(card: Card, runtime: Runtime) -> CardView:
    zone = runtime.settings.timezone
    today = local_today(zone)
    state = {CardState.ACTIVE: "valid", CardState.SUSPENDED: "suspended",
             CardState.REVOKED: "revoked", CardState.MAILED: "mailed"}[CardState(card.state)]
    if state == "valid" and card.expires_on is not None and card.expires_on < today:
        state = "expired"
    window = renewal_of(card, runtime.policy.renewal, today)
    renew_until = (window.closes if card.state == CardState.ACTIVE and window and window.open
                   else None)
    reason = card.state_reason or ""
    reported = reason.removeprefix("reported_") if reason.startswith("reported_") else None
    return CardView(number=card.number, state=state, reported=reported,
                    issued_on=local_date(card.issued_at, zone), expires_on=card.expires_on,
                    renew_until=renew_until)


def _local(moment: datetime | None, zone: str) -> datetime | None:
    return None if moment is None else local_time(moment, zone)


@router.get("/resident/")
def my_card(request: Request, session: SessionDep, resident: PageResident) -> Response:
    runtime = runtime_of(request)
    keys, zone = runtime.master_key, runtime.settings.timezone
    newest = selfservice.my_card(session, resident)
    # A renewal in the post: the page shows the card in hand, and the new one to activate.
    card = cards.card_in_hand(session, newest.number)
    pending = newest if newest.id != card.id else None
    offer = renewal.offer(session, resident_id=resident, keys=keys, policy=runtime.policy,
                          today=renewal.today(runtime))
    benefits = [{"name": s.benefit.name, "partner": s.partner.name,
                 "description": s.benefit.description, "available": s.available,
                 "reason": s.reason, "min_age": s.benefit.min_age,
                 "max_age": s.benefit.max_age, "last_used_at": _local(s.last_used_at, zone),
                 "available_again": (date.fromisoformat(s.available_again)
                                     if s.available_again else None)}
                for s in selfservice.my_benefits(session, resident_id=resident, keys=keys,
                                                 timezone=zone)]
    checks = [{"at": _local(c.at, zone), "partner": c.partner, "kind": c.partner_kind,
               "result": c.result}
              for c in selfservice.my_verifications(session, resident_id=resident, keys=keys)]
    used = [{"benefit": benefit, "partner": partner,
             "at": _local(r.redeemed_at, zone), "voided": r.voided_at is not None}
            for r, benefit, partner in selfservice.my_redemptions(session,
                                                                  resident_id=resident,
                                                                  keys=keys)]
    return render(request, "resident/card.html", {
        "card": _card_view(card, runtime), "benefits": benefits, "checks": checks,
        "redemptions": used, "retention_days": runtime.settings.verification_retention_days,
        "pending": pending is not None, "renew_online": offer.refusal is None})


# --- activating a mailed card, renewing online ------------------------------------------

@router.post("/resident/card/activate", dependencies=[Depends(check_csrf)])
def activate_card(request: Request, session: SessionDep, resident: PageResident,
                  code: Annotated[str, Form(max_length=32)]) -> Response:
    """The code from the mailer of the resident's own newest card (no number to type)."""
    number = selfservice.my_card(session, resident).number
    outcome = activation.activate_with_code(session, number_text=number, code=code)
    if not isinstance(outcome, Card):
        return render(request, "cards/activate.html",
                      {"card_number": number, "error": outcome.code},
                      status_code=outcome.status_code)
    return RedirectResponse(HOME, status_code=303)


def _renew_page(request: Request, session: Session, resident: str, *,
                error: str | None = None, status_code: int = 200) -> Response:
    runtime = runtime_of(request)
    current = renewal.offer(session, resident_id=resident, keys=runtime.master_key,
                            policy=runtime.policy, today=renewal.today(runtime))
    return render(request, "resident/renew.html", {
        "card": _card_view(current.card, runtime), "person": current.person,
        "refusal": current.refusal.code if current.refusal else None,
        "window": current.window, "error": error}, status_code=status_code)


@router.get("/resident/renew")
def renew_form(request: Request, session: SessionDep, resident: PageResident) -> Response:
    return _renew_page(request, session, resident)


@router.post("/resident/renew", dependencies=[Depends(check_csrf)])
def renew(request: Request, session: SessionDep, resident: PageResident,
          unchanged: Annotated[bool, Form()] = False) -> Response:
    """The same rules as `POST /api/v1/me/renew`: a refusal shows on the form again."""
    runtime = runtime_of(request)
    try:
        card = renewal.renew_online(session, resident_id=resident, unchanged=unchanged,
                                    context=renewal.context_for(session, runtime, resident),
                                    today=renewal.today(runtime))
    except DomainError as refusal:
        return _renew_page(request, session, resident, error=refusal.code,
                           status_code=refusal.status_code)
    return render(request, "resident/renew_done.html", {"card_number": card.number})


# --- lost or stolen --------------------------------------------------------------------

@router.get("/resident/report-lost")
def report_lost_form(request: Request, session: SessionDep, resident: PageResident) -> Response:
    card = selfservice.my_card(session, resident)
    return render(request, "resident/report_lost.html",
                  {"card": _card_view(card, runtime_of(request))})


@router.post("/resident/report-lost", dependencies=[Depends(check_csrf)])
def report_lost(request: Request, session: SessionDep, resident: PageResident,
                reason: Annotated[Literal["lost", "stolen"], Form()]) -> Response:
    """Suspends the card at once and ends every session: whoever has the card may know
    the PIN. The done page is the answer itself, as no session is left to show it."""
    card = selfservice.report_lost(session, resident_id=resident, reason=reason)
    return _sign_out(render(request, "resident/report_lost_done.html",
                            {"card_number": card.number, "reason": reason}))


# --- settings --------------------------------------------------------------------------

# Which form field a validation error of `ResidentChanges` belongs to.
_FIELD_OF = {("contact", "email"): "email", ("contact", "phone"): "phone",
             ("emergency_contact", "name"): "emergency_name",
             ("emergency_contact", "relationship"): "emergency_relationship",
             ("emergency_contact", "phone"): "emergency_phone",
             ("preferred_languages",): "language_1"}


def _settings_page(request: Request, form: dict[str, str], *,
                   errors: dict[str, bool] | None = None, saved: bool = False,
                   failed: bool = False, status_code: int = 200) -> Response:
    return render(request, "resident/settings.html", {
        "form": form, "errors": errors or {}, "saved": saved, "failed": failed,
        "choices": sorted(PREFERRED_LANGUAGES.items(), key=lambda item: item[1])},
        status_code=status_code)


@router.get("/resident/settings")
def settings_form(request: Request, session: SessionDep, resident: PageResident,
                  saved: str = "") -> Response:
    person = residents.read_personal_data(residents.get_resident(session, resident),
                                          runtime_of(request).master_key)
    languages = [*person.preferred_languages, "", ""]
    contact, emergency = person.contact, person.emergency_contact
    form = {"language_1": languages[0], "language_2": languages[1],
            "email": (contact.email if contact else None) or "",
            "phone": (contact.phone if contact else None) or "",
            "emergency_name": emergency.name if emergency else "",
            "emergency_relationship": (emergency.relationship if emergency else None) or "",
            "emergency_phone": emergency.phone if emergency else ""}
    return _settings_page(request, form, saved=saved == "1")


def _changes(form: dict[str, str]) -> dict[str, Any]:
    """The whole form as one `PATCH /api/v1/me` body: empty groups clear their details."""
    languages = list(dict.fromkeys(c for c in (form["language_1"], form["language_2"]) if c))
    contact = {k: form[k] for k in ("email", "phone") if form[k]}
    emergency = {k: form[f"emergency_{k}"] for k in ("name", "relationship", "phone")
                 if form[f"emergency_{k}"]}
    return {"preferred_languages": languages, "contact": contact or None,
            "emergency_contact": emergency or None}


@router.post("/resident/settings", dependencies=[Depends(check_csrf)])
def save_settings(request: Request, session: SessionDep, resident: PageResident,
                  language_1: Annotated[str, Form(max_length=8)] = "",
                  language_2: Annotated[str, Form(max_length=8)] = "",
                  email: Annotated[str, Form(max_length=254)] = "",
                  phone: Annotated[str, Form(max_length=32)] = "",
                  emergency_name: Annotated[str, Form(max_length=100)] = "",
                  emergency_relationship: Annotated[str, Form(max_length=50)] = "",
                  emergency_phone: Annotated[str, Form(max_length=32)] = "") -> Response:
    form = {"language_1": language_1, "language_2": language_2, "email": email.strip(),
            "phone": phone.strip(), "emergency_name": emergency_name.strip(),
            "emergency_relationship": emergency_relationship.strip(),
            "emergency_phone": emergency_phone.strip()}
    try:
        changes = ResidentChanges.model_validate(_changes(form))
    except ValidationError as exc:
        errors = by_field(exc, lambda e: (
            _FIELD_OF.get(tuple(str(p) for p in e["loc"][:2]), "form"), True))
        return _settings_page(request, form, errors=errors, status_code=422)
    try:
        selfservice.update_profile(session, resident_id=resident,
                                   changes=changes.model_dump(exclude_unset=True),
                                   keys=runtime_of(request).master_key)
    except Invalid:
        return _settings_page(request, form, failed=True, status_code=422)
    return RedirectResponse("/resident/settings?saved=1", status_code=303)
