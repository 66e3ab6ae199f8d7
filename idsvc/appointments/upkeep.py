"""Reminders the day before, lapsed waitlist places, and purging what is past."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from idsvc.appointments.context import Context
from idsvc.appointments.models import Appointment, Slot
from idsvc.appointments.notify import Kind, send
from idsvc.appointments.ticket_model import QueueTicket
from idsvc.audit.service import Actor, record
from idsvc.clock import local_date
from idsvc.config import Settings


def remind(session: Session, ctx: Context) -> int:
    """Queue a reminder for each booking of tomorrow (city time) not reminded yet."""
    tomorrow = ctx.today + timedelta(days=1)
    due = session.exec(select(Appointment, Slot).join(Slot, col(Slot.id) == col(
        Appointment.slot_id)).where(Appointment.state == "booked", Slot.day == tomorrow,
                                    col(Appointment.reminded_at).is_(None)))
    count = 0
    for appointment, slot in due:
        send(session, ctx, appointment, Kind.REMINDER, slot=slot)
        appointment.reminded_at = ctx.now
        session.add(appointment)
        count += 1
    session.flush()
    return count


def purge(session: Session, *, settings: Settings, now: datetime, actor: Actor) -> int:
    """Delete appointments `appointment_purge_after_days` after their day (or after a
    waitlist window that ended unserved, or a cancellation), and the past slots and queue
    tickets (no names, but who was served when, in which language). Needs no key: it
    reads nothing sealed."""
    days = settings.appointment_purge_after_days
    today = local_date(now, settings.timezone)
    cutoff = today - timedelta(days=days)
    past_slots = select(Slot.id).where(col(Slot.day) < cutoff)
    session.execute(update(Appointment).where(
        Appointment.state == "waiting", col(Appointment.wait_until) < today).values(
        state="lapsed", wrapped_key=b"", personal=None, email_key=None, phone_key=None,
        updated_at=now).execution_options(synchronize_session=False))
    gone = session.execute(delete(Appointment).where(
        (col(Appointment.slot_id).in_(past_slots))
        | (col(Appointment.state).in_(("cancelled", "lapsed"))
           & (col(Appointment.updated_at) < now - timedelta(days=days))))
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    tickets = session.execute(delete(QueueTicket).where(col(QueueTicket.day) < cutoff)
                              .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    slots = session.execute(delete(Slot).where(col(Slot.day) < cutoff)
                            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if gone or slots or tickets:
        record(session, actor=actor, action="appointment.purge",
               subject_type="appointments", subject_id="past",
               details={"appointments": gone, "slots": slots, "tickets": tickets})
    return gone
