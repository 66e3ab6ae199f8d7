"""Public appointment rules: book, wait, look up, move, cancel; and what the public sees.

Handlers and (later) pages call these with a `Context`; each is one transaction.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from idsvc.appointments import codes, queue
from idsvc.appointments import schedule as schedules
from idsvc.appointments.context import Context
from idsvc.appointments.models import Appointment, Slot
from idsvc.appointments.notify import Kind, send
from idsvc.appointments.personal import Person, open_person, seal_person, wipe
from idsvc.appointments.schemas import (
    AppointmentPublic,
    BookingCreate,
    CentreAvailability,
    CentreBrief,
    DayCount,
    Requester,
    SlotPublic,
    WaitlistCreate,
)
from idsvc.audit.service import record
from idsvc.centres import service as centres
from idsvc.errors import Conflict, Invalid, NotFound

AVAILABILITY_DAYS = 28
ACTIVE = ("booked", "waiting")


def _slot(session: Session, ctx: Context, slot_id: int) -> Slot:
    """A released slot still ahead; anything else is unknown to the public."""
    slot = session.get(Slot, slot_id)
    if slot is None or slot.released_at is None or slot.starts_at <= ctx.now:
        raise NotFound("No such time can be booked.", code="slot_not_found")
    return slot


def _check_language(session: Session, centre_id: int, language: str) -> None:
    schedule = schedules.find_schedule(session, centre_id)
    if schedule is None or language not in schedules.languages_of(schedule):
        raise Invalid("This centre does not serve in that language; the list of centres "
                      "shows the languages of each.", code="language_not_offered")


def _contact_filter(email_key: str | None, phone_key: str | None):
    matches = []
    if email_key:
        matches.append(col(Appointment.email_key) == email_key)
    if phone_key:
        matches.append(col(Appointment.phone_key) == phone_key)
    return or_(*matches) if matches else None


def _check_contact_limit(session: Session, ctx: Context, keys: tuple[str | None, str | None],
                         *, state: str) -> None:
    """At most N bookings still ahead, and M waitlist places, per email or phone."""
    same_contact = _contact_filter(*keys)
    if same_contact is None:
        return
    statement = select(func.count()).select_from(Appointment).where(
        Appointment.state == state, same_contact)
    if state == "booked":
        statement = statement.join(Slot, col(Slot.id) == col(Appointment.slot_id)).where(
            col(Slot.ends_at) > ctx.now)
        limit = ctx.settings.appointment_bookings_per_contact
        refusal = Conflict(f"This email or phone already has {limit} appointments booked; "
                           "cancel one first.", code="too_many_bookings")
    else:
        limit = ctx.settings.appointment_waitlist_per_contact
        refusal = Conflict("This email or phone is already on the waitlist.",
                           code="already_waiting")
    if session.exec(statement).one() >= limit:
        raise refusal


def _contact_keys(ctx: Context, who: Requester) -> tuple[str | None, str | None]:
    key = ctx.keys.blind_index_key
    return (codes.email_key(key, who.email) if who.email else None,
            codes.phone_key(key, who.phone) if who.phone else None)


def _create(session: Session, ctx: Context, who: Requester, *, centre_id: int | None,
            wait_from: date, wait_until: date, keys: tuple[str | None, str | None],
            slot: Slot | None = None) -> tuple[str, Appointment]:
    """A new request: booked into `slot` (its seat already taken), else waiting."""
    code = codes.new_code()
    appointment = Appointment(
        code_hash=codes.code_hash(code), state="booked" if slot else "waiting",
        centre_id=centre_id, slot_id=slot.id if slot else None, language=who.language,
        requested_at=ctx.now, wait_from=wait_from, wait_until=wait_until,
        email_key=keys[0], phone_key=keys[1], updated_at=ctx.now)
    seal_person(appointment, Person(who.name, who.email, who.phone), ctx.keys)
    session.add(appointment)
    session.flush()
    return code, appointment


def book(session: Session, ctx: Context, *, body: BookingCreate) -> tuple[str, Appointment]:
    """Book a seat of a released slot; when it is full, a waitlist place at that centre
    from the slot's day to `waitlist_until` (first any seat already free in it)."""
    ctx = queue.serialise(session, ctx)
    slot = _slot(session, ctx, body.slot_id)
    _check_language(session, slot.centre_id, body.language)
    keys = _contact_keys(ctx, body)
    until = body.waitlist_until or slot.day + timedelta(
        days=ctx.settings.appointment_waitlist_days)
    if until < slot.day:
        raise Invalid("waitlist_until is before the slot's day.", code="invalid_window")
    has_seat = slot.booked < slot.capacity
    _check_contact_limit(session, ctx, keys, state="booked" if has_seat else "waiting")
    seat = slot if has_seat and queue.take_seat(session, slot.id or 0) else None
    code, appointment = _create(session, ctx, body, centre_id=slot.centre_id,
                                wait_from=slot.day, wait_until=until, keys=keys, slot=seat)
    if seat is None:
        seat = queue.seat_for(session, ctx, appointment)
    _announce(session, ctx, appointment, code, seat, requested_slot=slot.id)
    return code, appointment


def join_waitlist(session: Session, ctx: Context, *,
                  body: WaitlistCreate) -> tuple[str, Appointment]:
    """A waitlist place for a centre (or any centre serving in the language) and days."""
    ctx = queue.serialise(session, ctx)
    if body.centre_id is not None:
        centres.get_centre(session, body.centre_id)
        _check_language(session, body.centre_id, body.language)
    elif not queue.centres_speaking(session, body.language):
        raise Invalid("No centre serves in that language yet.", code="language_not_offered")
    if body.until_date < ctx.today:
        raise Invalid("The days asked for are past.", code="invalid_window")
    keys = _contact_keys(ctx, body)
    _check_contact_limit(session, ctx, keys, state="waiting")
    code, appointment = _create(session, ctx, body, centre_id=body.centre_id,
                                wait_from=max(body.from_date, ctx.today),
                                wait_until=body.until_date, keys=keys)
    _announce(session, ctx, appointment, code, queue.seat_for(session, ctx, appointment))
    return code, appointment


def _announce(session: Session, ctx: Context, appointment: Appointment, code: str,
              seat: Slot | None, *, requested_slot: int | None = None) -> None:
    if seat is not None:
        record(session, actor=ctx.actor, action="appointment.book", subject_type="appointment",
               subject_id=str(appointment.id),
               details={"slot_id": seat.id, "requested_slot_id": requested_slot})
        send(session, ctx, appointment, Kind.BOOKED, slot=seat, code=code)
        return
    place = queue.position(session, appointment)
    record(session, actor=ctx.actor, action="appointment.wait", subject_type="appointment",
           subject_id=str(appointment.id),
           details={"centre_id": appointment.centre_id, "requested_slot_id": requested_slot})
    send(session, ctx, appointment, Kind.WAITING, code=code, position=place)


def find(session: Session, code: str) -> Appointment:
    appointment = session.exec(select(Appointment).where(
        Appointment.code_hash == codes.code_hash(code))).first()
    if appointment is None:
        raise NotFound("No appointment has this code.", code="appointment_not_found")
    return appointment


def view(session: Session, ctx: Context, appointment: Appointment) -> AppointmentPublic:
    person = open_person(appointment, ctx.keys)
    slot = session.get(Slot, appointment.slot_id) if appointment.slot_id else None
    centre = (centres.get_centre(session, appointment.centre_id)
              if appointment.centre_id is not None else None)
    waiting = appointment.state == "waiting"
    return AppointmentPublic(
        status=appointment.state,  # type: ignore[arg-type]
        name=person.name if person else None, language=appointment.language,
        centre=CentreBrief.model_validate(centre, from_attributes=True) if centre else None,
        starts_at=slot.starts_at if slot else None, ends_at=slot.ends_at if slot else None,
        position=queue.position(session, appointment) if waiting else None,
        from_date=appointment.wait_from if waiting else None,
        until_date=appointment.wait_until if waiting else None)


def _active(session: Session, code: str) -> Appointment:
    appointment = find(session, code)
    if appointment.state not in ACTIVE:
        raise Conflict(f"This appointment is {appointment.state}.", code="not_active")
    return appointment


def move(session: Session, ctx: Context, *, code: str, slot_id: int) -> Appointment:
    """To another released seat (a waiting request may take one too); the seat left goes
    to the waitlist. A full slot is refused: moving never queues."""
    ctx = queue.serialise(session, ctx)
    appointment = _active(session, code)
    if appointment.slot_id == slot_id:
        return appointment
    slot = _slot(session, ctx, slot_id)
    _check_language(session, slot.centre_id, appointment.language)
    if not queue.take_seat(session, slot_id):
        raise Conflict("That time is fully booked.", code="slot_full")
    left = appointment.slot_id
    if left is not None:
        queue.free_seat(session, left)
    queue.book_into(session, ctx, appointment, slot)
    record(session, actor=ctx.actor, action="appointment.move", subject_type="appointment",
           subject_id=str(appointment.id), details={"from_slot_id": left, "slot_id": slot_id})
    send(session, ctx, appointment, Kind.MOVED, slot=slot)
    if left is not None:
        queue.give_away(session, ctx, [left])
    return appointment


def cancel(session: Session, ctx: Context, *, code: str) -> Appointment:
    """Cancel a booking or a waitlist place; the name and contact are wiped at once."""
    ctx = queue.serialise(session, ctx)
    appointment = _active(session, code)
    left = appointment.slot_id
    person = open_person(appointment, ctx.keys)
    if left is not None:
        queue.free_seat(session, left)
    appointment.state, appointment.slot_id, appointment.updated_at = "cancelled", None, ctx.now
    send(session, ctx, appointment, Kind.CANCELLED, person=person)
    wipe(appointment)
    session.add(appointment)
    session.flush()
    record(session, actor=ctx.actor, action="appointment.cancel", subject_type="appointment",
           subject_id=str(appointment.id), details={"slot_id": left})
    if left is not None:
        queue.give_away(session, ctx, [left])
    return appointment


def availability(session: Session, ctx: Context) -> list[CentreAvailability]:
    """Each centre taking appointments, its languages and its free seats per day: counts
    only, so watching this page tells nothing a scraper could use to jump the queue."""
    last = ctx.today + timedelta(days=AVAILABILITY_DAYS)
    counts: dict[int, list[DayCount]] = {}
    for centre_id, day, free in session.exec(
            select(Slot.centre_id, Slot.day, func.sum(col(Slot.capacity) - col(Slot.booked)))
            .where(col(Slot.released_at).is_not(None), col(Slot.starts_at) > ctx.now,
                   col(Slot.day) <= last)
            .group_by(col(Slot.centre_id), col(Slot.day))
            .order_by(col(Slot.centre_id), col(Slot.day))):
        counts.setdefault(centre_id, []).append(DayCount(day=day, free=int(free or 0)))
    result = []
    for schedule in schedules.all_schedules(session):
        centre = centres.get_centre(session, schedule.centre_id)
        result.append(CentreAvailability(
            id=schedule.centre_id, code=centre.code, name=centre.name, address=centre.address,
            languages=schedules.languages_of(schedule), days=counts.get(schedule.centre_id, [])))
    return result


def free_slots(session: Session, ctx: Context, *, centre_id: int, day: date) -> list[SlotPublic]:
    """The released times of one day with a seat free, and how many."""
    centres.get_centre(session, centre_id)
    return [SlotPublic(id=slot.id or 0, starts_at=slot.starts_at, ends_at=slot.ends_at,
                       free=slot.capacity - slot.booked)
            for slot in session.exec(select(Slot).where(
                Slot.centre_id == centre_id, Slot.day == day,
                col(Slot.released_at).is_not(None), col(Slot.starts_at) > ctx.now,
                col(Slot.booked) < col(Slot.capacity)).order_by(col(Slot.starts_at)))]
