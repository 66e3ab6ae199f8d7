"""Clerk pages for a presented card: find it, see it, print it, and change its state.

Finding is by the card's number or by the holder's exact name and birth date through the
keyed blind index (POST, so no name reaches a URL); it never lists residents to browse.
Every lifecycle change goes through `idsvc.cards.lifecycle`, as the API's do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from idsvc.cards import lifecycle, service
from idsvc.cards.models import Card
from idsvc.cards.schemas import FeeRequest, ReplaceRequest, RevokeRequest, SuspendRequest
from idsvc.clock import local_time, local_today
from idsvc.db import SessionDep
from idsvc.errors import DomainError, NotFound
from idsvc.languages import LANGUAGES
from idsvc.residents import accounts
from idsvc.residents.schemas import Name
from idsvc.runtime import Runtime, runtime_of
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of
from idsvc.web.csrf import CSRF_FIELD, check_csrf
from idsvc.web.forms import form_text, unknown_fields
from idsvc.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Staff, Depends(page_require(Permission.READ_CARDS))]
Manager = Annotated[Staff, Depends(page_require(Permission.MANAGE_CARDS))]
Changes = [Depends(check_csrf)]
ACTIONS = ("revoke", "suspend", "reinstate", "replace", "renew")


class PersonQuery(BaseModel):
    """A search needs the whole name and the birth date: nothing partial matches."""

    given_name: Name
    family_name: Name = ""
    date_of_birth: date


# --- find ---------------------------------------------------------------------------------

def _find_page(request: Request, staff: Staff, *, status_code: int = 200,
               **context: Any) -> Response:
    return render(request, "clerk/find.html", {"staff": staff, "form": {}, **context},
                  status_code=status_code)


@router.get("/clerk/cards/find")
def find(request: Request, session: SessionDep, staff: Reader, number: str = "") -> Response:
    """By card number (a number is not a person's data, so GET is fine)."""
    if not number.strip():
        return _find_page(request, staff)
    try:
        card = service.find_card(session, number)
    except NotFound:
        _ = gettext_for(request)
        return _find_page(request, staff, number=number, status_code=404,
                          error=_("No card has that number."))
    return RedirectResponse(f"/clerk/cards/{card.number}", status_code=303)


@router.post("/clerk/cards/find", dependencies=Changes)
async def find_by_person(request: Request, session: SessionDep, staff: Reader) -> Response:
    """By exact full name and date of birth; audited as this clerk's search."""
    form = await request.form()
    fields = ("given_name", "family_name", "date_of_birth")
    values = {name: form_text(form, name) for name in fields}
    gettext = gettext_for(request)
    try:
        if unknown_fields(form, fields):
            raise ValueError("unknown fields")
        query = PersonQuery.model_validate(values)
    except (ValidationError, ValueError):
        return _find_page(request, staff, form=values, status_code=422,
                          person_error=gettext("Enter the given name and the date of birth "
                                               "(and the family name, if there is one)."))
    cards = service.find_cards_of_person(
        session, keys=runtime_of(request).master_key, given_name=query.given_name,
        family_name=query.family_name, date_of_birth=query.date_of_birth,
        actor=actor_of(staff))
    return _find_page(request, staff, form=values, searched=True, cards=cards)


# --- the card page ------------------------------------------------------------------------

def _renewal(runtime: Runtime, card: Card) -> dict[str, Any]:
    """Whether renewal is open today, and the window's dates, for the page to say when."""
    window = lifecycle.renewal_of(card, runtime.policy.renewal,
                                  local_today(runtime.settings.timezone))
    if window is None:
        return {"never_expires": True}
    return {"opens": window.opens, "closes": window.closes, "open": window.open}


def _card_page(request: Request, session: Session, staff: Staff, number: str, *,
               status_code: int = 200, **context: Any) -> Response:
    runtime = runtime_of(request)
    record = service.open_card(session, number=number, keys=runtime.master_key,
                               actor=actor_of(staff), purpose="read")
    return render(request, "clerk/card.html", {
        "staff": staff, "card": record.card, "person": record.person,
        "languages": LANGUAGES, "renewal": _renewal(runtime, record.card),
        "issued_at": local_time(record.card.issued_at, runtime.settings.timezone),
        **context},
        status_code=status_code)


@router.get("/clerk/cards/{number}")
def card_page(request: Request, session: SessionDep, number: str, staff: Reader,
              done: str = "") -> Response:
    return _card_page(request, session, staff, number,
                      done=done if done in ACTIONS else None)


@router.post("/clerk/cards/{number}/activation-code", dependencies=Changes)
def activation_code(request: Request, session: SessionDep, number: str,
                    staff: Manager) -> Response:
    """A one-time code for the resident's first login; shown on this response only."""
    card = service.find_card(session, number)
    code = accounts.issue_activation_code(session, resident_id=card.resident_id,
                                          actor=actor_of(staff))
    return _card_page(request, session, staff, number, activation_code=code)


# --- lifecycle: a confirmation page, then the change ---------------------------------------

def _reasons(gettext: Callable[[str], str], action: str) -> list[tuple[str, str]]:
    revoke = [("lost", gettext("Lost")), ("stolen", gettext("Stolen")),
              ("damaged", gettext("Damaged")), ("deceased", gettext("The holder died")),
              ("fraud", gettext("Fraud")), ("clerical_error", gettext("Issued in error"))]
    suspend = [("reported_lost", gettext("Reported lost")),
               ("reported_stolen", gettext("Reported stolen")),
               ("investigation", gettext("Under investigation")),
               ("resident_request", gettext("The resident asked")),
               ("not_activated", gettext("Not activated"))]
    return {"revoke": revoke, "suspend": suspend, "replace": revoke[:3]}.get(action, [])


def _known_action(request: Request, action: str) -> None:
    """`/clerk/cards/{number}/{action}` exists only for the lifecycle's actions."""
    if action not in ACTIONS:
        _ = gettext_for(request)
        raise NotFound(_("This page does not exist."), code="not_found")


def _confirm_page(request: Request, session: Session, staff: Staff, number: str,
                  action: str, *, error: str | None = None, status_code: int = 200) -> Response:
    _known_action(request, action)
    card = service.find_card(session, number)
    return render(request, "clerk/card_action.html", {
        "staff": staff, "card": card, "action": action, "error": error,
        "reasons": _reasons(gettext_for(request), action),
        "renewal": _renewal(runtime_of(request), card)}, status_code=status_code)


@router.get("/clerk/cards/{number}/{action}")
def confirm(request: Request, session: SessionDep, number: str, action: str,
            staff: Manager) -> Response:
    return _confirm_page(request, session, staff, number, action)


def _with_fee(form: dict[str, str]) -> dict[str, Any]:
    """The form in the API's shape: the amount ("12.50") in cents, the waiver as a flag.
    Other fields pass through, so the API's model refuses any it does not know."""
    amount = form.get("fee", "").replace(",", ".").strip() or "0"
    try:
        cents = round(float(amount) * 100)
    except (ValueError, OverflowError):
        cents = -1  # refused by FeeRequest's bound, like any other bad amount
    rest = {key: value for key, value in form.items() if key not in ("fee", "fee_waived")}
    return {**rest, "fee_cents": cents, "fee_waived": form.get("fee_waived") == "yes"}


@router.post("/clerk/cards/{number}/{action}", dependencies=Changes)
async def change(request: Request, session: SessionDep, number: str, action: str,
                 staff: Manager) -> Response:
    """Carry out a confirmed change; a refusal (a bad reason, outside the renewal window)
    re-renders the confirmation with the reason."""
    _known_action(request, action)
    raw = await request.form()
    form = {key: str(value) for key, value in raw.items() if key != CSRF_FIELD}
    gettext = gettext_for(request)
    try:
        card = _apply(request, session, staff, number, action, form)
    except ValidationError:
        return _confirm_page(request, session, staff, number, action, status_code=422,
                             error=gettext("Choose a reason, and give the fee as an amount "
                                           "such as 12.50 (or tick the waiver)."))
    except DomainError as exc:
        return _confirm_page(request, session, staff, number, action,
                             error=_refusal(gettext, exc), status_code=exc.status_code)
    return RedirectResponse(f"/clerk/cards/{card.number}?done={action}", status_code=303)


def _refusal(gettext: Callable[[str], str], exc: DomainError) -> str:
    """Why the lifecycle refused, in the page's language."""
    if exc.code == "outside_renewal_window":
        return gettext("This card can be renewed only from %(opens)s to %(closes)s.") % {
            "opens": exc.details["opens"], "closes": exc.details["closes"]}
    texts = {
        "card_revoked": gettext("The card is already revoked."),
        "card_suspended": gettext("The card is suspended; reinstate it or revoke it first."),
        "card_active": gettext("The card is active, so it cannot be reinstated."),
        "card_not_replaceable": gettext("A card revoked for this reason cannot be replaced."),
        "card_never_expires": gettext("This card never expires."),
        "card_changed": gettext("The card changed meanwhile; open it again and retry."),
    }
    return texts.get(exc.code, exc.message)


def _apply(request: Request, session: Session, staff: Staff, number: str, action: str,
           form: dict[str, str]) -> Card:
    """Validate the form with the API's own request models, then call the lifecycle."""
    runtime = runtime_of(request)
    actor = actor_of(staff)
    if action == "revoke":
        revoke = RevokeRequest.model_validate(form)
        return lifecycle.revoke(session, card=service.find_card(session, number, for_update=True),
                                reason=lifecycle.RevokeReason(revoke.reason), actor=actor)
    if action == "suspend":
        suspend = SuspendRequest.model_validate(form)
        return lifecycle.suspend(session, card=service.find_card(session, number,
                                                                 for_update=True),
                                 reason=suspend.reason, actor=actor)
    if action == "reinstate":
        return lifecycle.reinstate(session, card=service.find_card(session, number,
                                                                   for_update=True),
                                   actor=actor)
    context = service.issue_context(session, settings=runtime.settings,
                                    keys=runtime.master_key, policy=runtime.policy,
                                    actor=actor, issued_by=staff.id,
                                    centre_id=staff.centre_id)
    if action == "replace":
        replace = ReplaceRequest.model_validate(_with_fee(form))
        return lifecycle.replace(session, card=service.find_card(session, number,
                                                                 for_update=True),
                                 reason=replace.reason, context=context,
                                 fee=service.Fee(replace.fee_cents, replace.fee_waived))
    fee = FeeRequest.model_validate(_with_fee(form))
    return lifecycle.renew(session, card=service.find_card(session, number, for_update=True),
                           context=context, today=local_today(runtime.settings.timezone),
                           fee=service.Fee(fee.fee_cents, fee.fee_waived))
