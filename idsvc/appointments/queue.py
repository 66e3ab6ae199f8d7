"""Seats and the waitlist: who gets a seat, in which order, and never one seat twice.

Rules (README, Appointments):
- A seat is taken only by `take_seat`, one guarded UPDATE
  (`booked = booked + 1 WHERE booked < capacity`) whose row count says whether it
  worked: two requests can never both take the last seat, on SQLite or PostgreSQL.
- The waitlist is one queue ordered by (priority, request time, id): bookings moved out by
  a closure (priority 0) come first, then everyone else first come, first served.
- Every change that frees seats (a cancellation, a move, a release) hands them to the
  queue in that order (`give_away`) before anyone can book them; every new place in the
  queue first looks for a free seat in its window (`seat_for`). So a free, released seat
  never sits beside a waiting request that fits it, and a released slot is not a race.
- Changes to seats and the queue run one at a time (`serialise`): a transaction-scoped
  advisory lock on PostgreSQL, the write lock every SQLite write transaction takes first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import func, or_, text, tuple_, update
from sqlmodel import Session, col, select

from idsvc.appointments import schedule as schedules
from idsvc.appointments.context import Context
from idsvc.appointments.models import Appointment, CentreSchedule, Slot
from idsvc.appointments.notify import Kind, send
from idsvc.audit.service import record
from idsvc.clock import utcnow

_PG_LOCK_ID = 0x0A99_0171


def serialise(session: Session, ctx: Context) -> Context:
    """Wait for the queue's turn; the context with the time the turn came, which is the
    request time the queue orders by (so the order is the order of the changes)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    else:  # SQLite: take the write lock now (BEGIN IMMEDIATE) and with it the turn
        session.connection()
    return replace(ctx, now=utcnow())


def take_seat(session: Session, slot_id: int) -> bool:
    """One seat of a released slot, if one is left."""
    taken = session.execute(
        update(Slot).where(col(Slot.id) == slot_id, col(Slot.booked) < col(Slot.capacity),
                           col(Slot.released_at).is_not(None))
        .values(booked=col(Slot.booked) + 1).execution_options(synchronize_session=False))
    return taken.rowcount == 1  # type: ignore[attr-defined]


def free_seat(session: Session, slot_id: int) -> None:
    session.execute(update(Slot).where(col(Slot.id) == slot_id, col(Slot.booked) > 0)
                    .values(booked=col(Slot.booked) - 1)
                    .execution_options(synchronize_session=False))


def _ahead(appointment: Appointment):
    return tuple_(col(Appointment.priority), col(Appointment.requested_at),
                  col(Appointment.id)) < tuple_(appointment.priority, appointment.requested_at,
                                                appointment.id)


def position(session: Session, appointment: Appointment) -> int:
    """1 + the waiting requests ahead that compete for the same centre's seats."""
    statement = select(func.count()).select_from(Appointment).where(
        Appointment.state == "waiting", _ahead(appointment))
    if appointment.centre_id is not None:
        statement = statement.where(or_(col(Appointment.centre_id).is_(None),
                                        Appointment.centre_id == appointment.centre_id))
    return session.exec(statement).one() + 1


def centres_speaking(session: Session, language: str) -> list[int]:
    return [s.centre_id for s in session.exec(select(CentreSchedule))
            if language in schedules.languages_of(s)]


def _fits(appointment: Appointment, slot: Slot, speaking: dict[int, set[str]]) -> bool:
    if appointment.wait_from is None or appointment.wait_until is None:
        return False
    if not appointment.wait_from <= slot.day <= appointment.wait_until:
        return False
    if appointment.centre_id is not None:
        return appointment.centre_id == slot.centre_id
    return appointment.language in speaking.get(slot.centre_id, set())


def book_into(session: Session, ctx: Context, appointment: Appointment, slot: Slot) -> None:
    """Record the seat already taken for `appointment`."""
    appointment.state, appointment.slot_id = "booked", slot.id
    appointment.centre_id = slot.centre_id
    appointment.reminded_at = None
    appointment.updated_at = ctx.now
    session.add(appointment)
    session.flush()


def seat_for(session: Session, ctx: Context, appointment: Appointment) -> Slot | None:
    """The earliest free seat in a new waiting request's window, taken for it."""
    statement = select(Slot).where(
        col(Slot.released_at).is_not(None), col(Slot.booked) < col(Slot.capacity),
        col(Slot.starts_at) > ctx.now, col(Slot.day) >= appointment.wait_from,
        col(Slot.day) <= appointment.wait_until)
    if appointment.centre_id is not None:
        statement = statement.where(Slot.centre_id == appointment.centre_id)
    else:
        statement = statement.where(col(Slot.centre_id).in_(
            centres_speaking(session, appointment.language)))
    for slot in session.exec(statement.order_by(col(Slot.starts_at), col(Slot.id)).limit(50)):
        if take_seat(session, slot.id or 0):
            book_into(session, ctx, appointment, slot)
            return slot
    return None


def give_away(session: Session, ctx: Context, slot_ids: Iterable[int]) -> int:
    """Hand the free seats of these slots to the waitlist, first in line first, each to
    the earliest seat that fits; the number of requests that got one."""
    ids = list(set(slot_ids))
    if not ids:
        return 0
    slots = list(session.exec(select(Slot).where(
        col(Slot.id).in_(ids), col(Slot.released_at).is_not(None),
        col(Slot.booked) < col(Slot.capacity), col(Slot.starts_at) > ctx.now)
        .order_by(col(Slot.starts_at), col(Slot.id))))
    free = {slot.id: slot.capacity - slot.booked for slot in slots}
    if not slots:
        return 0
    speaking = {s.centre_id: set(schedules.languages_of(s))
                for s in session.exec(select(CentreSchedule))}
    waiting = session.exec(select(Appointment).where(
        Appointment.state == "waiting",
        or_(col(Appointment.centre_id).is_(None),
            col(Appointment.centre_id).in_({slot.centre_id for slot in slots})),
        col(Appointment.wait_from) <= max(slot.day for slot in slots),
        col(Appointment.wait_until) >= min(slot.day for slot in slots),
    ).order_by(col(Appointment.priority), col(Appointment.requested_at), col(Appointment.id)))
    assigned = 0
    for appointment in waiting:
        if not any(free.values()):
            break
        for slot in slots:
            if free[slot.id] and _fits(appointment, slot, speaking) and \
                    take_seat(session, slot.id or 0):
                free[slot.id] -= 1
                book_into(session, ctx, appointment, slot)
                record(session, actor=ctx.actor, action="appointment.assign",
                       subject_type="appointment", subject_id=str(appointment.id),
                       details={"slot_id": slot.id})
                send(session, ctx, appointment, Kind.ASSIGNED, slot=slot)
                assigned += 1
                break
    return assigned
