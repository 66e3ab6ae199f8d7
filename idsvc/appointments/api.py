"""Appointment routes: public booking (no account) and the administrators' schedules.

Routes that change seats or the queue commit inside the handler, not in the teardown of
`SessionDep`: their transactions hold the queue's lock (and on SQLite the write lock)
until they commit, and a teardown needs a free worker thread. In a burst every worker
thread can be waiting for that lock, and the teardown would never get one. Public routes
open their own transaction (`handlers.writing`); staff routes commit the session their login
check already opened (`_committed`), since on SQLite a second one would wait for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlmodel import Session

from idsvc.appointments import closures, desk, releases, service
from idsvc.appointments import schedule as schedules
from idsvc.appointments.context import Context
from idsvc.appointments.handlers import context_of, writing
from idsvc.appointments.limits import charge_address
from idsvc.appointments.models import Appointment, CentreSchedule
from idsvc.appointments.schemas import (
    AppointmentCreated,
    AppointmentPublic,
    BookingCreate,
    CentreAvailability,
    ClosureCreate,
    ClosureCreated,
    ClosurePublic,
    CodeBody,
    Hours,
    MoveBody,
    ReleaseReport,
    SchedulePublic,
    ScheduleUpdate,
    SlotPublic,
    WaitlistCreate,
)
from idsvc.db import ReadSessionDep, RowId, SessionDep
from idsvc.errors import NotFound
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

public_router = APIRouter(prefix="/appointments", tags=["appointments"])
router = APIRouter(tags=["appointments"])
CentreAdmin = Annotated[Staff, Depends(require(Permission.MANAGE_CENTRES))]
Clerk = Annotated[Staff, Depends(require(Permission.ENROLL))]
Charged = [Depends(charge_address)]



@contextmanager
def _committed(session: Session) -> Iterator[Session]:
    """Commit the request's session before the handler returns (see the module docstring);
    on an error the session's own teardown rolls back."""
    yield session
    session.commit()



@public_router.get("/centres")
def list_centres(request: Request, session: ReadSessionDep) -> list[CentreAvailability]:
    """Centres taking appointments, their languages and free seats per day (counts only)."""
    return service.availability(session, context_of(request))


@public_router.get("/centres/{centre_id}/slots")
def list_slots(request: Request, session: ReadSessionDep, centre_id: RowId,
               day: Annotated[date, Query()]) -> list[SlotPublic]:
    """The times of one day with a seat free."""
    return service.free_slots(session, context_of(request), centre_id=centre_id, day=day)


def _created(session: Session, ctx: Context, code: str,
             appointment: Appointment) -> AppointmentCreated:
    return AppointmentCreated(code=code, appointment=service.view(session, ctx, appointment))


@public_router.post("", status_code=201, dependencies=Charged)
def book(request: Request, body: BookingCreate) -> AppointmentCreated:
    """Book a released time; when it is full, a waitlist place (`status` "waiting")."""
    ctx = context_of(request)
    with writing(request) as session:
        return _created(session, ctx, *service.book(session, ctx, body=body))


@public_router.post("/waitlist", status_code=201, dependencies=Charged)
def join_waitlist(request: Request, body: WaitlistCreate) -> AppointmentCreated:
    """Wait for the first seat that frees up or is released at a centre (or any) in a
    range of days; it is booked for you and you get an email."""
    ctx = context_of(request)
    with writing(request) as session:
        return _created(session, ctx, *service.join_waitlist(session, ctx, body=body))


@public_router.post("/lookup", dependencies=Charged)
def look_up(request: Request, body: CodeBody) -> AppointmentPublic:
    """The appointment of a confirmation code (sent in the body, never in a URL)."""
    with writing(request) as session:
        return service.view(session, context_of(request), service.find(session, body.code))


@public_router.post("/move", dependencies=Charged)
def move(request: Request, body: MoveBody) -> AppointmentPublic:
    ctx = context_of(request)
    with writing(request) as session:
        return service.view(session, ctx, service.move(session, ctx, code=body.code,
                                                       slot_id=body.slot_id))


@public_router.post("/cancel", dependencies=Charged)
def cancel(request: Request, body: CodeBody) -> AppointmentPublic:
    ctx = context_of(request)
    with writing(request) as session:
        return service.view(session, ctx, service.cancel(session, ctx, code=body.code))


def _schedule_view(session: SessionDep, schedule: CentreSchedule) -> SchedulePublic:
    return SchedulePublic(
        centre_id=schedule.centre_id, languages=schedules.languages_of(schedule),
        slot_minutes=schedule.slot_minutes, capacity=schedule.capacity,
        hours=[Hours(weekday=h.weekday, opens=h.opens, closes=h.closes)
               for h in schedules.hours_of(session, schedule.centre_id)],
        release=schedules.release_of(schedule),
        closures=[ClosurePublic.model_validate(c, from_attributes=True)
                  for c in schedules.closures_of(session, schedule.centre_id)])


@router.get("/centres/{centre_id}/schedule")
def get_schedule(session: SessionDep, centre_id: RowId, _: CentreAdmin) -> SchedulePublic:
    schedule = schedules.find_schedule(session, centre_id)
    if schedule is None:
        raise NotFound("This centre has no appointment schedule.", code="schedule_not_found")
    return _schedule_view(session, schedule)


@router.put("/centres/{centre_id}/schedule")
def put_schedule(session: SessionDep, centre_id: RowId, body: ScheduleUpdate,
                 admin: CentreAdmin) -> SchedulePublic:
    """Languages, slot length, seats, opening hours and an optional own release rule;
    slots not yet released are made again from it at the next release."""
    schedule = schedules.set_schedule(session, centre_id=centre_id, update=body,
                                      actor=actor_of(admin))
    return _schedule_view(session, schedule)


@router.post("/centres/{centre_id}/closures", status_code=201)
def add_closure(request: Request, session: SessionDep, centre_id: RowId, body: ClosureCreate,
                admin: CentreAdmin) -> ClosureCreated:
    """Close days: their bookings go to the front of the waitlist, with an email."""
    with _committed(session):
        closure, moved = closures.close(session, context_of(request, actor_of(admin)),
                                        centre_id=centre_id, body=body)
    return ClosureCreated(id=closure.id or 0, starts_on=closure.starts_on,
                          ends_on=closure.ends_on, reason=closure.reason,
                          moved_to_waitlist=moved)


@router.delete("/centres/{centre_id}/closures/{closure_id}", status_code=204)
def remove_closure(request: Request, session: SessionDep, centre_id: RowId, closure_id: RowId,
                   admin: CentreAdmin) -> Response:
    """Reopen: the next release makes the days' slots again."""
    closures.reopen(session, context_of(request, actor_of(admin)), centre_id=centre_id,
                    closure_id=closure_id)
    return Response(status_code=204)


@router.post("/appointments/release")
def release(request: Request, session: SessionDep, admin: CentreAdmin) -> ReleaseReport:
    """What `idsvc appointments release` does, now."""
    with _committed(session):
        return releases.release(session, context_of(request, actor_of(admin)))


@router.get("/centres/{centre_id}/appointments")
def day_list(request: Request, session: SessionDep, centre_id: RowId,
             day: Annotated[date, Query()], clerk: Clerk) -> list[desk.DeskAppointment]:
    """The day's bookings at a centre, for its clerks (audited)."""
    return desk.day_list(session, context_of(request, actor_of(clerk)), centre_id=centre_id,
                         day=day)
