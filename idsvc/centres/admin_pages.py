"""/admin/centres: service centres and how each takes appointments, for administrators.

Thin pages over the API's services (`create_centre`, `set_schedule`, `closures.close` and
`reopen`, `releases.release`), checked with the API's schemas: a page is no way around a
rule, and each service audits its change. A post carrying a field its form does not have
is refused whole. Closing days and releasing commit before the answer, as the API does
(they hold the queue's lock; see `idsvc.appointments.api`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from babel.dates import get_day_names
from fastapi import APIRouter, Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from idsvc.appointments import closures, releases
from idsvc.appointments import schedule as schedules
from idsvc.appointments.handlers import context_of
from idsvc.appointments.schemas import ClosureCreate
from idsvc.centres import schedule_form, service
from idsvc.centres.models import ServiceCentre
from idsvc.centres.schedule_form import ScheduleForm
from idsvc.centres.schemas import CentreCreate
from idsvc.db import RowId, SessionDep
from idsvc.errors import DomainError, Invalid
from idsvc.languages import LANGUAGES
from idsvc.runtime import runtime_of
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of
from idsvc.web.admin_home import Link
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import FormInvalid, form_text, unknown_fields, validate
from idsvc.web.templating import gettext_for, language_of, render

router = APIRouter(include_in_schema=False)
CentreAdmin = Annotated[Staff, Depends(page_require(Permission.MANAGE_CENTRES))]
CSRF = [Depends(check_csrf)]
CENTRE_FIELDS = ("code", "name", "address")
CLOSURE_FIELDS = ("starts_on", "ends_on", "reason")
REPORT = ("moved", "created", "released", "assigned")  # counts a redirect carries back


async def _posted(request: Request) -> FormData:
    """The posted form, read before a (sync) handler runs in the thread pool."""
    return await request.form()


Posted = Annotated[FormData, Depends(_posted)]


def _admit(request: Request, form: FormData, allowed: Iterable[str]) -> None:
    refused = unknown_fields(form, allowed)
    if refused:
        _ = gettext_for(request)
        raise Invalid(_("This form does not take these fields: %(names)s")
                      % {"names": ", ".join(refused)}, code="unknown_fields")


# --- the list and a new centre ------------------------------------------------------------

def _list(request: Request, session: Session, staff: Staff, *,
          values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    return render(request, "admin/centres.html", {
        "staff": staff, "centres": service.list_centres(session),
        "scheduled": {s.centre_id for s in schedules.all_schedules(session)},
        "values": values or {}, "errors": errors or {}}, status_code=status_code)


@router.get("/admin/centres")
def centres_page(request: Request, session: SessionDep, staff: CentreAdmin) -> Response:
    return _list(request, session, staff)


@router.post("/admin/centres", dependencies=CSRF)
def create_centre(request: Request, session: SessionDep, staff: CentreAdmin,
                  form: Posted) -> Response:
    _admit(request, form, CENTRE_FIELDS)
    _ = gettext_for(request)
    values = {name: form_text(form, name) for name in CENTRE_FIELDS}
    try:
        body = validate(CentreCreate, values, {
            "code": _("Letters, digits, - and _ only, up to 32 characters."),
            "name": _("Enter a name of up to 200 characters."),
            "address": _("At most 500 characters."), "": _("Check the form.")})
        centre = service.create_centre(session, code=body.code, name=body.name,
                                       address=body.address, actor=actor_of(staff))
    except FormInvalid as exc:
        return _list(request, session, staff, values=values, errors=exc.errors,
                     status_code=422)
    except DomainError as exc:
        if exc.code != "centre_exists":
            raise
        return _list(request, session, staff, values=values, status_code=409,
                     errors={"code": _("A centre with this code exists already.")})
    return RedirectResponse(f"/admin/centres/{centre.id}?done=created", status_code=303)


# --- one centre: schedule, closures, release ----------------------------------------------

def _counts(request: Request) -> dict[str, int]:
    """The counts a change's redirect carries; anything else in the query is ignored."""
    query = request.query_params
    return {name: int(query[name]) for name in REPORT
            if query.get(name, "").isdigit() and len(query[name]) <= 9}


def _city_release(request: Request) -> dict[str, object]:
    settings = runtime_of(request).settings
    return {"weekday": settings.appointment_release_weekday,
            "time": settings.appointment_release_time,
            "weeks": settings.appointment_release_weeks_ahead}


def _centre(request: Request, session: Session, staff: Staff, centre: ServiceCentre, *,
            form: ScheduleForm | None = None, errors: dict[str, str] | None = None,
            closure: dict[str, str] | None = None,
            closure_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    _ = gettext_for(request)
    schedule = schedules.find_schedule(session, centre.id or 0)
    if form is None:
        form = schedule_form.EMPTY if schedule is None else \
            schedule_form.of_schedule(session, schedule)
    names = get_day_names("wide", context="stand-alone", locale=language_of(request))
    return render(request, "admin/centre.html", {
        "staff": staff, "centre": centre, "scheduled": schedule is not None, "form": form,
        "errors": errors or {}, "closure": closure or {}, "closure_errors": closure_errors or {},
        "closures": schedules.closures_of(session, centre.id or 0),
        "languages": list(LANGUAGES.items()), "weekdays": [names[day] for day in range(7)],
        "city_release": _city_release(request), "row_name": schedule_form.row_name,
        "done": request.query_params.get("done", ""), "counts": _counts(request),
        "trail": [Link("/admin/centres", _("Service centres"))]}, status_code=status_code)


@router.get("/admin/centres/{centre_id}")
def centre_page(request: Request, session: SessionDep, staff: CentreAdmin,
                centre_id: RowId) -> Response:
    return _centre(request, session, staff, service.get_centre(session, centre_id))


@router.post("/admin/centres/{centre_id}", dependencies=CSRF)
def save_schedule(request: Request, session: SessionDep, staff: CentreAdmin,
                  centre_id: RowId, form: Posted) -> Response:
    """Replace the schedule, as PUT /api/v1/centres/{id}/schedule does."""
    _admit(request, form, schedule_form.FIELDS)
    centre = service.get_centre(session, centre_id)
    shown = schedule_form.of_post(form)
    _ = gettext_for(request)
    try:
        update = schedule_form.parse(shown, schedule_form.messages(_))
        schedules.set_schedule(session, centre_id=centre_id, update=update,
                               actor=actor_of(staff))
    except FormInvalid as exc:
        return _centre(request, session, staff, centre, form=shown, errors=exc.errors,
                       status_code=422)
    except DomainError as exc:
        if exc.code != "hours_overlap":
            raise
        return _centre(request, session, staff, centre, form=shown, status_code=422,
                       errors={"hours": _("Two intervals of the same day overlap: each must "
                                          "close before the next one opens.")})
    return RedirectResponse(f"/admin/centres/{centre_id}?done=saved", status_code=303)


@router.post("/admin/centres/{centre_id}/closures", dependencies=CSRF)
def add_closure(request: Request, session: SessionDep, staff: CentreAdmin,
                centre_id: RowId, form: Posted) -> Response:
    """Close days: their bookings go to the front of the waitlist, each with an email."""
    _admit(request, form, CLOSURE_FIELDS)
    centre = service.get_centre(session, centre_id)
    _ = gettext_for(request)
    values = {name: form_text(form, name) for name in CLOSURE_FIELDS}
    day = _("A date.")
    try:
        body = validate(ClosureCreate, values, {
            "starts_on": day, "ends_on": day,
            "reason": _("Enter a reason of up to 200 characters."), "": _("Check the form.")},
            {"must not be before": ("ends_on", _("The last day is before the first day.")),
             "at most a year": ("ends_on", _("A closure spans at most a year."))})
    except FormInvalid as exc:
        return _centre(request, session, staff, centre, closure=values,
                       closure_errors=exc.errors, status_code=422)
    _closure, moved = closures.close(session, context_of(request, actor_of(staff)),
                                     centre_id=centre_id, body=body)
    session.commit()
    return RedirectResponse(f"/admin/centres/{centre_id}?done=closed&moved={moved}#closures",
                            status_code=303)


@router.post("/admin/centres/{centre_id}/closures/{closure_id}/remove", dependencies=CSRF)
def remove_closure(request: Request, session: SessionDep, staff: CentreAdmin,
                   centre_id: RowId, closure_id: RowId, form: Posted) -> Response:
    """Reopen: the next release makes the days' slots again."""
    _admit(request, form, ())
    closures.reopen(session, context_of(request, actor_of(staff)), centre_id=centre_id,
                    closure_id=closure_id)
    return RedirectResponse(f"/admin/centres/{centre_id}?done=reopened#closures",
                            status_code=303)


@router.post("/admin/centres/{centre_id}/release", dependencies=CSRF)
def release_now(request: Request, session: SessionDep, staff: CentreAdmin,
                centre_id: RowId, form: Posted) -> Response:
    """The release of every centre, now (as `idsvc appointments release`), and its report
    back on this centre's page."""
    _admit(request, form, ())
    service.get_centre(session, centre_id)
    report = releases.release(session, context_of(request, actor_of(staff)))
    session.commit()
    return RedirectResponse(
        f"/admin/centres/{centre_id}?done=released&created={report.created}"
        f"&released={report.released}&assigned={report.assigned}#release", status_code=303)
