"""Issuing queue tickets at a centre's desk: a numbered walk-in ticket, or an "A" ticket
for a booked resident who has arrived. Tickets belong to the clerk's own centre and day
(city time); they carry a label and a language, never a name."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from idsvc.appointments.context import Context
from idsvc.appointments.models import Appointment, Slot
from idsvc.appointments.ticket_model import QueueTicket
from idsvc.audit.service import record
from idsvc.errors import Conflict, Forbidden, Invalid, NotFound
from idsvc.staff.models import Staff

_PG_LOCK_CLASS = 0x0A99_0172  # with the centre id: one numbering lock per centre


class Kind(StrEnum):
    WALK_IN = "walk_in"
    APPOINTMENT = "appointment"


PREFIX = {Kind.WALK_IN: "W", Kind.APPOINTMENT: "A"}


def own_centre(staff: Staff, centre_id: int) -> int:
    """A clerk works the queue of their own centre only (as the enrollment day list)."""
    if staff.centre_id != centre_id:
        raise Forbidden("You can only work the queue of your own service centre.",
                        code="other_centre")
    return centre_id


def _number_next(session: Session, ctx: Context, centre_id: int, kind: Kind) -> int:
    """The next number of the day for `kind`, numbering one ticket at a time per centre:
    a transaction-scoped advisory lock on PostgreSQL, the write lock on SQLite (every
    SQLite write transaction holds it from its start)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:cls, :centre)"),
                        {"cls": _PG_LOCK_CLASS, "centre": centre_id})
    last = session.exec(select(func.max(QueueTicket.number)).where(
        QueueTicket.centre_id == centre_id, QueueTicket.day == ctx.today,
        QueueTicket.kind == kind.value)).one()
    return (last or 0) + 1


def _new_ticket(session: Session, ctx: Context, *, centre_id: int, kind: Kind, language: str,
                due_at: datetime | None = None, appointment_id: int | None = None) -> QueueTicket:
    number = _number_next(session, ctx, centre_id, kind)
    ticket = QueueTicket(centre_id=centre_id, day=ctx.today, kind=kind.value, number=number,
                         label=f"{PREFIX[kind]}-{number:03d}", appointment_id=appointment_id,
                         language=language, state="waiting", issued_at=ctx.now,
                         due_at=due_at or ctx.now)
    session.add(ticket)
    session.flush()
    return ticket


def issue_walk_in(session: Session, ctx: Context, *, staff: Staff, centre_id: int,
                  language: str) -> QueueTicket:
    """A walk-in ticket: served in order of issue, between appointments that are due."""
    return _new_ticket(session, ctx, centre_id=own_centre(staff, centre_id),
                       kind=Kind.WALK_IN, language=language)


def check_in(session: Session, ctx: Context, *, staff: Staff, centre_id: int,
             appointment_id: int) -> QueueTicket:
    """An "A" ticket for a resident booked here today who has arrived; its turn comes at
    the slot's start (see calling.py). Audited: it touches the appointment."""
    own_centre(staff, centre_id)
    found = session.exec(select(Appointment, Slot).join(Slot, col(Slot.id) == col(
        Appointment.slot_id)).where(col(Appointment.id) == appointment_id,
                                    Appointment.state == "booked",
                                    Slot.centre_id == centre_id)).first()
    if found is None:
        raise NotFound("No booked appointment with that id at this centre.",
                       code="appointment_not_found")
    appointment, slot = found
    if slot.day != ctx.today:
        raise Invalid("That appointment is on another day.", code="appointment_not_today")
    if session.exec(select(QueueTicket.id).where(
            QueueTicket.appointment_id == appointment_id)).first() is not None:
        raise Conflict("This appointment is already checked in.", code="already_checked_in")
    ticket = _new_ticket(session, ctx, centre_id=centre_id, kind=Kind.APPOINTMENT,
                         language=appointment.language, due_at=slot.starts_at,
                         appointment_id=appointment_id)
    record(session, actor=ctx.actor, action="appointment.check_in",
           subject_type="appointment", subject_id=str(appointment_id),
           details={"ticket": ticket.label})
    return ticket


def open_tickets(session: Session, ctx: Context, *, centre_id: int) -> list[QueueTicket]:
    """Today's tickets still waiting or called, in the order they were issued."""
    return list(session.exec(select(QueueTicket).where(
        QueueTicket.centre_id == centre_id, QueueTicket.day == ctx.today,
        col(QueueTicket.state).in_(("waiting", "called"))).order_by(col(QueueTicket.id))))


def checked_in(session: Session, ctx: Context, *, centre_id: int) -> dict[int, QueueTicket]:
    """Today's "A" tickets by appointment id: which bookings have arrived."""
    return {t.appointment_id: t for t in session.exec(select(QueueTicket).where(
        QueueTicket.centre_id == centre_id, QueueTicket.day == ctx.today,
        col(QueueTicket.appointment_id).is_not(None))) if t.appointment_id is not None}
