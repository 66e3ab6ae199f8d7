"""What a centre's clerks see: the day's bookings with names, each look audited."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from idsvc.appointments.context import Context
from idsvc.appointments.models import Appointment, Slot
from idsvc.appointments.personal import open_person
from idsvc.audit.service import record
from idsvc.centres import service as centres


class DeskAppointment(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    name: str
    language: str
    phone: str | None


def day_list(session: Session, ctx: Context, *, centre_id: int,
             day: date) -> list[DeskAppointment]:
    """The bookings of `day` at the centre, by time: a phone number to call when late
    (the email is for the system's messages only)."""
    centres.get_centre(session, centre_id)
    rows = session.exec(select(Appointment, Slot).join(Slot, col(Slot.id) == col(
        Appointment.slot_id)).where(Slot.centre_id == centre_id, Slot.day == day,
                                    Appointment.state == "booked")
        .order_by(col(Slot.starts_at), col(Appointment.id))).all()
    listed = []
    for appointment, slot in rows:
        person = open_person(appointment, ctx.keys)
        listed.append(DeskAppointment(
            id=appointment.id or 0, starts_at=slot.starts_at, ends_at=slot.ends_at,
            name=person.name if person else "", language=appointment.language,
            phone=person.phone if person else None))
    record(session, actor=ctx.actor, action="appointment.list", subject_type="centre",
           subject_id=str(centre_id), details={"day": day.isoformat(), "count": len(listed)})
    return listed
