"""Closing a centre for some days: its bookings go to the front of the waitlist.

A closure deletes the slots of the closed days. Each booking in them becomes a waitlist
place with priority 0, so it comes before every ordinary request (among themselves, in
their original request order), waiting at that centre from its old day until
`appointment_waitlist_days` after the closure ends. Each gets an email, then at once the
earliest free seat in that window if there is one (with a second email).
Removing a closure lets the next release make those days' slots again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from idsvc.appointments import queue
from idsvc.appointments.context import Context
from idsvc.appointments.models import Appointment, Closure, Slot
from idsvc.appointments.notify import Kind, send
from idsvc.appointments.schemas import ClosureCreate
from idsvc.audit.service import record
from idsvc.centres import service as centres
from idsvc.errors import NotFound

FRONT = 0


def close(session: Session, ctx: Context, *, centre_id: int,
          body: ClosureCreate) -> tuple[Closure, int]:
    """The closure, and how many bookings it moved to the waitlist."""
    ctx = queue.serialise(session, ctx)
    centres.get_centre(session, centre_id)
    closure = Closure(centre_id=centre_id, starts_on=body.starts_on, ends_on=body.ends_on,
                      reason=body.reason, created_at=ctx.now)
    session.add(closure)
    session.flush()
    slots = {slot.id: slot for slot in session.exec(select(Slot).where(
        Slot.centre_id == centre_id, col(Slot.day) >= body.starts_on,
        col(Slot.day) <= body.ends_on))}
    displaced = list(session.exec(select(Appointment).where(
        col(Appointment.slot_id).in_(slots), Appointment.state == "booked")
        .order_by(col(Appointment.requested_at), col(Appointment.id))))
    until = body.ends_on + timedelta(days=ctx.settings.appointment_waitlist_days)
    for appointment in displaced:
        old = slots[appointment.slot_id]
        appointment.state, appointment.slot_id, appointment.priority = "waiting", None, FRONT
        appointment.wait_from, appointment.wait_until = max(old.day, ctx.today), until
        appointment.updated_at = ctx.now
        session.add(appointment)
        send(session, ctx, appointment, Kind.DISPLACED, slot=old)
    session.flush()
    session.execute(delete(Slot).where(col(Slot.id).in_(slots)))
    record(session, actor=ctx.actor, action="centre.closure", subject_type="centre",
           subject_id=str(centre_id), details={
               "closure_id": closure.id, "starts_on": body.starts_on.isoformat(),
               "ends_on": body.ends_on.isoformat(), "moved_to_waitlist": len(displaced)})
    for appointment in displaced:
        seat = queue.seat_for(session, ctx, appointment)
        if seat is not None:
            record(session, actor=ctx.actor, action="appointment.assign",
                   subject_type="appointment", subject_id=str(appointment.id),
                   details={"slot_id": seat.id})
            send(session, ctx, appointment, Kind.ASSIGNED, slot=seat)
    return closure, len(displaced)


def reopen(session: Session, ctx: Context, *, centre_id: int, closure_id: int) -> None:
    closure = session.get(Closure, closure_id)
    if closure is None or closure.centre_id != centre_id:
        raise NotFound(f"No closure {closure_id} at this centre.", code="closure_not_found")
    session.delete(closure)
    session.flush()
    record(session, actor=ctx.actor, action="centre.reopen", subject_type="centre",
           subject_id=str(centre_id), details={"closure_id": closure_id})
