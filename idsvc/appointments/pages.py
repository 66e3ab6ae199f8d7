"""Appointment pages: booking, the waitlist and managing by code (no account), and the
clerk's list of the day's bookings.

Thin pages over the same functions as `/api/v1/appointments...` (`service`, `desk`) with
the same per-address budget (`limits.charge_address`) and the same per-contact limits
(inside `service`), so the pages are no way around a rule. As in the API, a change runs
in its own transaction, committed before the page is rendered (see `api`'s docstring).

The confirmation code travels only in POST bodies and in the HTML that answers them:
never in a URL, a redirect or a cookie, so it reaches neither access logs nor browser
history. The page answering the booking is the only place the code is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from babel.dates import format_time
from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from idsvc.appointments import desk, service
from idsvc.appointments.handlers import context_of, writing
from idsvc.appointments.limits import charge_address
from idsvc.appointments.schemas import (
    AppointmentPublic,
    BookingCreate,
    CentreAvailability,
    CodeBody,
    DayCount,
    MoveBody,
    WaitlistCreate,
)
from idsvc.clock import local_time, local_today
from idsvc.db import ReadSessionDep, RowId, SessionDep
from idsvc.errors import DomainError, Invalid, NotFound
from idsvc.languages import display_name
from idsvc.runtime import runtime_of
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of
from idsvc.web import i18n
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import FormInvalid, form_text, unknown_fields, validate
from idsvc.web.templating import gettext_for, language_of, render

public_router = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False)
Enroller = Annotated[Staff, Depends(page_require(Permission.ENROLL))]
Changes = [Depends(check_csrf)]

PERSON_FIELDS = ("name", "email", "phone", "language")
BOOK_INPUT = (*PERSON_FIELDS, "slot_id", "waitlist_until")
BOOK_FIELDS = (*BOOK_INPUT, "day")  # `day`: the day the form showed, to show it again
WAIT_FIELDS = (*PERSON_FIELDS, "centre_id", "from_date", "until_date")
LOOKUP_FIELDS = ("code", "when")
MOVE_FIELDS = ("code", "slot_id")
CANCEL_FIELDS = ("code",)
_WHEN = re.compile(r"(\d{1,10})/(\d{4}-\d{2}-\d{2})")  # a centre and a day: "3/2026-12-02"


async def _posted(request: Request) -> FormData:
    """The posted form, read before a (sync) handler runs in the thread pool."""
    return await request.form()


Posted = Annotated[FormData, Depends(_posted)]




@contextmanager
def _reading(request: Request) -> Iterator[Session]:
    """The primary, read only: a page answering a change must not show a lagging replica."""
    with request.app.state.read_sessionmaker() as session:
        yield session


def _admit(request: Request, form: FormData, allowed: Iterable[str]) -> None:
    """What every public POST goes through first: the address's budget, then no field the
    form does not have (e.g. `nationality`), so nothing else is ever read."""
    charge_address(request)
    refused = unknown_fields(form, allowed)
    if refused:
        _ = gettext_for(request)
        raise Invalid(_("This form does not take these fields: %(names)s")
                      % {"names": ", ".join(refused)}, code="unknown_fields")


def _refused(response: Response, refusal: DomainError | None) -> Response:
    """A rate limit's Retry-After, as the API sends it."""
    if refusal is not None and refusal.status_code == 429:
        response.headers.update(refusal.headers() or {})
    return response


def _messages(request: Request) -> dict[str, str]:
    """What each field wants, in the page's language; the value is never echoed."""
    _ = gettext_for(request)
    date_wanted = _("Write a date as year-month-day.")
    return {
        "name": _("Write your name (up to 200 characters)."),
        "email": _("Write an email address like name@example.org, or leave it empty."),
        "phone": _("Write a phone number with digits, for example +1 555 010 2030, or "
                   "leave it empty."),
        "language": _("Choose a language from the list."),
        "slot_id": _("Choose a time from the list."),
        "waitlist_until": _("Write a date as year-month-day, or leave it empty."),
        "centre_id": _("Choose a centre from the list."),
        "from_date": date_wanted, "until_date": date_wanted,
        "code": _("Write the confirmation code you were given."),
        "": _("Check what you wrote and try again."),
    }


def _whole(request: Request) -> dict[str, tuple[str, str]]:
    _ = gettext_for(request)
    return {"must not be before": ("until_date", _("The last day must not be before the "
                                                   "first day.")),
            "wait at most a year": ("until_date", _("Wait at most a year."))}


def _input(values: Mapping[str, str], names: Iterable[str]) -> dict[str, Any]:
    """Form values in the API's shape: an empty optional field is left out."""
    return {name: values[name] for name in names if values[name]}


# --- how things are shown ----------------------------------------------------------------

def _clock(request: Request, moment: datetime) -> str:
    """A time of day in city time, as the page's language writes it."""
    zone = runtime_of(request).settings.timezone
    return format_time(local_time(moment, zone), format="short",
                       locale=language_of(request))


def _span(request: Request, starts: datetime, ends: datetime) -> str:
    return f"{_clock(request, starts)}\u2013{_clock(request, ends)}"


def _shown(request: Request, view: AppointmentPublic) -> dict[str, Any]:
    zone = runtime_of(request).settings.timezone
    return {"status": view.status, "name": view.name, "language": display_name(view.language),
            "centre": view.centre, "position": view.position,
            "from_date": view.from_date, "until_date": view.until_date,
            "day": local_time(view.starts_at, zone).date() if view.starts_at else None,
            "time": (_span(request, view.starts_at, view.ends_at)
                     if view.starts_at and view.ends_at else None)}


def _times(request: Request, session: Session, centre_id: int, day: date) -> list[dict]:
    return [{"id": slot.id, "time": _span(request, slot.starts_at, slot.ends_at),
             "free": slot.free}
            for slot in service.free_slots(session, context_of(request), centre_id=centre_id,
                                           day=day)]


def _languages(codes: Iterable[str]) -> list[tuple[str, str]]:
    return sorted(((code, display_name(code)) for code in set(codes)),
                  key=lambda item: item[1])


def _page_language(request: Request) -> str:
    """The page's language as ISO 639-3, to preselect it where a centre speaks it."""
    return i18n.LANGUAGES[language_of(request)].iso639_3


def _open_days(centre: CentreAvailability) -> list[DayCount]:
    return [d for d in centre.days if d.free > 0]


# --- choose a centre ----------------------------------------------------------------------

@public_router.get("/appointments")
def centres(request: Request, session: ReadSessionDep) -> Response:
    """Each centre, its address and languages, and its days with free seats (counts)."""
    listed = service.availability(session, context_of(request))
    return render(request, "appointments/centres.html", {
        "centres": [{"centre": c, "languages": [display_name(x) for x in c.languages],
                     "days": _open_days(c)} for c in listed]})


# --- book a time at a centre ----------------------------------------------------------------

def _centre_of(session: Session, request: Request, centre_id: int) -> CentreAvailability:
    for centre in service.availability(session, context_of(request)):
        if centre.id == centre_id:
            return centre
    raise NotFound("This centre takes no appointments.", code="centre_not_found")


def _centre_page(request: Request, session: Session, centre_id: int, day: date | None, *,
                 form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 refusal: DomainError | None = None, status_code: int = 200) -> Response:
    centre = _centre_of(session, request, centre_id)
    open_days = _open_days(centre)
    if day is None:
        day = open_days[0].day if open_days else local_today(
            runtime_of(request).settings.timezone)
    spoken = _page_language(request)
    values = {"language": spoken if spoken in centre.languages else "", **(form or {})}
    return _refused(render(request, "appointments/centre.html", {
        "centre": centre, "languages": _languages(centre.languages), "days": open_days,
        "day": day, "times": _times(request, session, centre_id, day), "form": values,
        "errors": errors or {}, "refusal": refusal}, status_code=status_code), refusal)


def _day(text: str) -> date | None:
    """The day a posted form was showing; anything else shows the first open day."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@public_router.get("/appointments/centres/{centre_id}")
def centre(request: Request, session: ReadSessionDep, centre_id: RowId,
           day: Annotated[date | None, Query()] = None) -> Response:
    return _centre_page(request, session, centre_id, day)


@public_router.post("/appointments/centres/{centre_id}", dependencies=Changes)
def book(request: Request, centre_id: RowId, form: Posted) -> Response:
    """Book the chosen time; when it filled up meanwhile, a waitlist place (as the API)."""
    values = {name: form_text(form, name) for name in BOOK_FIELDS}
    try:
        _admit(request, form, BOOK_FIELDS)
        body = validate(BookingCreate, _input(values, BOOK_INPUT), _messages(request))
        ctx = context_of(request)
        with writing(request) as session:
            code, appointment = service.book(session, ctx, body=body)
            view = service.view(session, ctx, appointment)
    except FormInvalid as exc:
        with _reading(request) as session:
            return _centre_page(request, session, centre_id, _day(values["day"]),
                                form=values, errors=exc.errors, status_code=422)
    except DomainError as refusal:
        with _reading(request) as session:
            return _centre_page(request, session, centre_id, _day(values["day"]),
                                form=values, refusal=refusal,
                                status_code=refusal.status_code)
    return _done(request, code, view)


def _done(request: Request, code: str, view: AppointmentPublic) -> Response:
    """The one page that shows the code."""
    return render(request, "appointments/done.html", {"code": code,
                                                      "appointment": _shown(request, view)})


# --- the waitlist -------------------------------------------------------------------------

def _waitlist_page(request: Request, session: Session, *, form: dict[str, str],
                   errors: dict[str, str] | None = None, refusal: DomainError | None = None,
                   status_code: int = 200) -> Response:
    listed = service.availability(session, context_of(request))
    return _refused(render(request, "appointments/waitlist.html", {
        "centres": [(str(c.id), f"{c.name} ({c.address})") for c in listed],
        "languages": _languages(x for c in listed for x in c.languages),
        "form": form, "errors": errors or {}, "refusal": refusal}, status_code=status_code),
        refusal)


@public_router.get("/appointments/waitlist")
def waitlist_form(request: Request, session: ReadSessionDep, centre: str = "") -> Response:
    """`?centre=ID` preselects a centre (the link from a centre with no free time)."""
    today = local_today(runtime_of(request).settings.timezone)
    chosen = centre if centre.isdigit() and len(centre) <= 10 else ""
    return _waitlist_page(request, session, form={
        "centre_id": chosen, "language": _page_language(request),
        "from_date": today.isoformat(),
        "until_date": (today + timedelta(days=runtime_of(request).settings
                                         .appointment_waitlist_days)).isoformat()})


@public_router.post("/appointments/waitlist", dependencies=Changes)
def join_waitlist(request: Request, form: Posted) -> Response:
    values = {name: form_text(form, name) for name in WAIT_FIELDS}
    try:
        _admit(request, form, WAIT_FIELDS)
        body = validate(WaitlistCreate, _input(values, WAIT_FIELDS), _messages(request),
                        _whole(request))
        ctx = context_of(request)
        with writing(request) as session:
            code, appointment = service.join_waitlist(session, ctx, body=body)
            view = service.view(session, ctx, appointment)
    except FormInvalid as exc:
        with _reading(request) as session:
            return _waitlist_page(request, session, form=values, errors=exc.errors,
                                  status_code=422)
    except DomainError as refusal:
        with _reading(request) as session:
            return _waitlist_page(request, session, form=values, refusal=refusal,
                                  status_code=refusal.status_code)
    return _done(request, code, view)


# --- manage by code -------------------------------------------------------------------------

def _manage_form(request: Request, *, refusal: DomainError | None = None,
                 errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return _refused(render(request, "appointments/manage.html", {
        "refusal": refusal, "errors": errors or {}}, status_code=status_code), refusal)


def _when(text: str) -> tuple[int, date] | None:
    """The centre and day picked to move to; None when not picked or not well formed."""
    match = _WHEN.fullmatch(text)
    if match is None:
        return None
    try:
        return int(match.group(1)), date.fromisoformat(match.group(2))
    except ValueError:
        return None


def _appointment_page(request: Request, session: Session, code: str, view: AppointmentPublic,
                      *, when: str = "", done: str | None = None,
                      refusal: DomainError | None = None, errors: dict[str, str] | None = None,
                      status_code: int = 200) -> Response:
    """The appointment, and while it is active the forms to move (to a day with free seats
    at a centre serving its language) and to cancel it. `code` is put in those forms."""
    active = view.status in service.ACTIVE
    choices = [(c, days) for c in service.availability(session, context_of(request))
               if view.language in c.languages and (days := _open_days(c))] if active else []
    picked = _when(when)
    times = (_times(request, session, *picked) if active and picked and any(
        c.id == picked[0] and any(d.day == picked[1] for d in days) for c, days in choices)
        else [])
    return _refused(render(request, "appointments/appointment.html", {
        "code": code, "appointment": _shown(request, view), "active": active,
        "choices": choices, "when": when if picked else "", "times": times, "done": done,
        "refusal": refusal, "errors": errors or {}}, status_code=status_code), refusal)


def _code(values: Mapping[str, str], request: Request) -> str:
    return validate(CodeBody, {"code": values["code"]}, _messages(request)).code


@public_router.get("/appointments/manage")
def manage_form(request: Request) -> Response:
    return _manage_form(request)


@public_router.post("/appointments/manage", dependencies=Changes)
def look_up(request: Request, form: Posted) -> Response:
    """The appointment of a code; with `when`, also that day's free times to move to."""
    values = {name: form_text(form, name) for name in LOOKUP_FIELDS}
    try:
        _admit(request, form, LOOKUP_FIELDS)
        code = _code(values, request)
        with _reading(request) as session:
            view = service.view(session, context_of(request), service.find(session, code))
            return _appointment_page(request, session, code, view, when=values["when"])
    except FormInvalid as exc:
        return _manage_form(request, errors=exc.errors, status_code=422)
    except DomainError as refusal:
        return _manage_form(request, refusal=refusal, status_code=refusal.status_code)


def _admitted(request: Request, form: FormData, allowed: Iterable[str]) -> Response | None:
    """The code form when the post is refused before any look-up (over budget, unknown
    fields): a refused request must never show what a code is worth."""
    try:
        _admit(request, form, allowed)
    except DomainError as refusal:
        return _manage_form(request, refusal=refusal, status_code=refusal.status_code)
    return None


def _again(request: Request, code: str, *, done: str | None = None,
           refusal: DomainError | None = None, errors: dict[str, str] | None = None,
           status_code: int = 200) -> Response:
    """The appointment after a change (read once the change is committed), or with why it
    was refused; the code form when the code itself is the problem."""
    try:
        with _reading(request) as session:
            view = service.view(session, context_of(request), service.find(session, code))
            return _appointment_page(request, session, code, view, done=done,
                                     refusal=refusal, errors=errors, status_code=status_code)
    except NotFound as unknown:
        return _manage_form(request, refusal=refusal or unknown,
                            status_code=(refusal or unknown).status_code)


@public_router.post("/appointments/manage/move", dependencies=Changes)
def move(request: Request, form: Posted) -> Response:
    values = {name: form_text(form, name) for name in MOVE_FIELDS}
    refused = _admitted(request, form, MOVE_FIELDS)
    if refused is not None:
        return refused
    try:
        body = validate(MoveBody, values, _messages(request))
        ctx = context_of(request)
        with writing(request) as session:
            service.move(session, ctx, code=body.code, slot_id=body.slot_id)
    except FormInvalid as exc:
        if "code" in exc.errors:
            return _manage_form(request, errors=exc.errors, status_code=422)
        return _again(request, values["code"], errors=exc.errors, status_code=422)
    except DomainError as refusal:
        return _again(request, values["code"], refusal=refusal,
                      status_code=refusal.status_code)
    return _again(request, body.code, done="moved")


@public_router.post("/appointments/manage/cancel", dependencies=Changes)
def cancel(request: Request, form: Posted) -> Response:
    values = {name: form_text(form, name) for name in CANCEL_FIELDS}
    refused = _admitted(request, form, CANCEL_FIELDS)
    if refused is not None:
        return refused
    try:
        code = _code(values, request)
        ctx = context_of(request)
        with writing(request) as session:
            service.cancel(session, ctx, code=code)
    except FormInvalid as exc:
        return _manage_form(request, errors=exc.errors, status_code=422)
    except DomainError as refusal:
        return _again(request, values["code"], refusal=refusal,
                      status_code=refusal.status_code)
    return _again(request, code, done="cancelled")


# --- the clerk's day ------------------------------------------------------------------------

@router.get("/clerk/appointments")
def clerk_day(request: Request, session: SessionDep, staff: Enroller,
              day: Annotated[date | None, Query()] = None) -> Response:
    """The day's bookings at the clerk's own centre (names and phones: audited by
    `desk.day_list`); no other centre's, whatever the query."""
    today = local_today(runtime_of(request).settings.timezone)
    day = day or today
    rows = []
    if staff.centre_id is not None:
        rows = [{"time": _span(request, booking.starts_at, booking.ends_at),
                 "name": booking.name, "language": display_name(booking.language),
                 "phone": booking.phone}
                for booking in desk.day_list(session, context_of(request, actor_of(staff)),
                                             centre_id=staff.centre_id, day=day)]
    return render(request, "clerk/appointments.html", {
        "staff": staff, "day": day, "today": today, "rows": rows,
        "previous": day - timedelta(days=1), "next": day + timedelta(days=1)})
