"""Pages of the walk-in queue: the clerks' `/clerk/queue` and the waiting-room display.

The clerk page works through the same service functions as the queue API; after each
change it redirects back (post, redirect, get), keeping the desk name in the address so
the next "call next" goes to the same desk. The display is public and shows labels and
desks only; a small script swaps in the latest calls every few seconds, and without
script a meta refresh reloads the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from idsvc.appointments import calling, display, tickets
from idsvc.appointments import schedule as schedules
from idsvc.appointments.context import PUBLIC, Context
from idsvc.appointments.desk import day_list
from idsvc.appointments.queue_api import desk_context
from idsvc.appointments.schemas import DbId, Strict
from idsvc.appointments.ticket_schemas import CallNext, CheckIn, Desk, Finish, WalkInCreate
from idsvc.clock import local_time, utcnow
from idsvc.db import ReadSessionDep, RowId, SessionDep
from idsvc.errors import DomainError
from idsvc.languages import LANGUAGES
from idsvc.runtime import runtime_of
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import form_text, unknown_fields
from idsvc.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
public_router = APIRouter(include_in_schema=False)
Enroller = Annotated[Staff, Depends(page_require(Permission.ENROLL))]
Changes = [Depends(check_csrf)]
PAGE = "/clerk/queue"
REFRESH_SECONDS = 10
_LABEL = re.compile(r"^[AW]-\d{3,5}$")


def _queue_page(request: Request, session: Session, staff: Staff, *, desk_name: str = "",
                status_code: int = 200, **context: Any) -> Response:
    ctx = desk_context(request, staff)
    zone = ctx.settings.timezone
    values: dict[str, Any] = {"staff": staff, "desk": desk_name, **context}
    if staff.centre_id is not None:
        centre_id = staff.centre_id
        schedule = schedules.find_schedule(session, centre_id)
        offered = schedules.languages_of(schedule) if schedule else list(LANGUAGES)
        arrived = tickets.checked_in(session, ctx, centre_id=centre_id)
        values.update(
            tickets=tickets.open_tickets(session, ctx, centre_id=centre_id),
            appointments=[(a, local_time(a.starts_at, zone), arrived.get(a.id))
                          for a in day_list(session, ctx, centre_id=centre_id, day=ctx.today)],
            ticket_languages=[(code, LANGUAGES.get(code, code)) for code in offered],
            language_names=LANGUAGES, zone=zone, local_time=local_time)
    return render(request, "clerk/queue.html", values, status_code=status_code)


@router.get(PAGE)
def queue_page(request: Request, session: SessionDep, staff: Enroller, desk: str = "",
               called: str = "", issued: str = "") -> Response:
    """Waiting tickets, today's appointments (names: clerks only, audited) and the
    buttons to issue, check in, call, recall and end tickets."""
    return _queue_page(request, session, staff, desk_name=desk[:40],
                       called=called if _LABEL.match(called) else "",
                       issued=issued if _LABEL.match(issued) else "")


class _TicketForm(Strict):
    ticket_id: DbId


class _RecallForm(_TicketForm):
    desk: Desk | None = None  # none: the desk it was called to


class _FinishForm(Finish):
    ticket_id: DbId


Action = Callable[[Context, Any], dict[str, str]]


async def _act(request: Request, session: Session, staff: Staff, schema: type[BaseModel],
               fields: tuple[str, ...], action: Action) -> Response:
    """Run one form's change and go back to the page; a form that does not fit `schema`
    (or has a field it does not know) or a refusal shows the page again, saying why."""
    form = await request.form()
    desk_name = form_text(form, "desk")[:40]
    error: DomainError | None = None
    if not unknown_fields(form, (*fields, "desk")):
        try:
            body = schema.model_validate(
                {name: form_text(form, name) for name in fields if form_text(form, name)})
            return _back(desk_name, **action(desk_context(request, staff), body))
        except ValidationError:
            pass
        except DomainError as refused:
            error = refused
    return _refused(request, session, staff, desk_name, error)


def _back(desk_name: str, **shown: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in {"desk": desk_name, **shown}.items() if v})
    return RedirectResponse(f"{PAGE}?{query}" if query else PAGE, status_code=303)


def _refused(request: Request, session: Session, staff: Staff, desk_name: str,
             error: DomainError | None) -> Response:
    """The page again, saying what went wrong; the failed change is rolled back first."""
    session.rollback()
    gettext = gettext_for(request)
    messages = {
        "queue_empty": gettext("Nobody is waiting."),
        "already_checked_in": gettext("This appointment is already checked in."),
        "appointment_not_today": gettext("That appointment is on another day."),
        "other_centre": gettext("You can only work the queue of your own service centre."),
    }
    text = (messages.get(error.code) if error else None) or gettext(
        "That did not work: check the form and try again.")
    return _queue_page(request, session, staff, desk_name=desk_name,
                       status_code=error.status_code if error else 422, error=text)


@router.post(f"{PAGE}/tickets", dependencies=Changes)
async def issue_ticket(request: Request, session: SessionDep, staff: Enroller) -> Response:
    def issue(ctx: Context, body: WalkInCreate) -> dict[str, str]:
        return {"issued": tickets.issue_walk_in(session, ctx, staff=staff,
                                                centre_id=staff.centre_id or 0,
                                                language=body.language).label}
    return await _act(request, session, staff, WalkInCreate, ("language",), issue)


@router.post(f"{PAGE}/check-in", dependencies=Changes)
async def check_in(request: Request, session: SessionDep, staff: Enroller) -> Response:
    def arrive(ctx: Context, body: CheckIn) -> dict[str, str]:
        return {"issued": tickets.check_in(session, ctx, staff=staff,
                                           centre_id=staff.centre_id or 0,
                                           appointment_id=body.appointment_id).label}
    return await _act(request, session, staff, CheckIn, ("appointment_id",), arrive)


@router.post(f"{PAGE}/call", dependencies=Changes)
async def call_next(request: Request, session: SessionDep, staff: Enroller) -> Response:
    def call(ctx: Context, body: CallNext) -> dict[str, str]:
        return {"called": calling.call_next(session, ctx, staff=staff,
                                            centre_id=staff.centre_id or 0,
                                            desk=body.desk).label}
    return await _act(request, session, staff, CallNext, ("desk",), call)


@router.post(f"{PAGE}/recall", dependencies=Changes)
async def recall(request: Request, session: SessionDep, staff: Enroller) -> Response:
    def again(ctx: Context, body: _RecallForm) -> dict[str, str]:
        return {"called": calling.recall(session, ctx, staff=staff,
                                         centre_id=staff.centre_id or 0,
                                         ticket_id=body.ticket_id, desk=body.desk).label}
    return await _act(request, session, staff, _RecallForm, ("ticket_id", "desk"), again)


@router.post(f"{PAGE}/finish", dependencies=Changes)
async def finish(request: Request, session: SessionDep, staff: Enroller) -> Response:
    def end(ctx: Context, body: _FinishForm) -> dict[str, str]:
        calling.finish(session, ctx, staff=staff, centre_id=staff.centre_id or 0,
                       ticket_id=body.ticket_id, outcome=body.outcome)
        return {}
    return await _act(request, session, staff, _FinishForm, ("ticket_id", "outcome"), end)


@public_router.get("/centres/{centre_id}/display")
def waiting_room(request: Request, session: ReadSessionDep, centre_id: RowId) -> Response:
    """The waiting-room screen: no login, no names; labels and desks, in the centre's
    languages."""
    ctx = Context(keys=runtime_of(request).master_key, settings=runtime_of(request).settings,
                  actor=PUBLIC, now=utcnow())
    return render(request, "display/board.html", {
        "board": display.board(session, ctx, centre_id), "refresh": REFRESH_SECONDS})
