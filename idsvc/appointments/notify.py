"""The emails of an appointment, in the resident's language, queued in the outbox.

Subjects never name the person or the centre ("Your appointment — City of Riverton ID");
bodies carry only the date, time, centre and, when it is new, the confirmation code.
Only the code's hash is kept, so later emails (a freed seat, a reminder) cannot repeat it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from babel.dates import format_date, format_time
from sqlmodel import Session

from idsvc.appointments.context import Context
from idsvc.appointments.models import Appointment, Slot
from idsvc.appointments.personal import Person, open_person
from idsvc.centres.models import ServiceCentre
from idsvc.clock import local_time
from idsvc.languages import N_
from idsvc.notifications.outbox import Email, enqueue
from idsvc.web import i18n


class Kind(StrEnum):
    BOOKED = "booked"
    WAITING = "waiting"
    ASSIGNED = "assigned"
    MOVED = "moved"
    CANCELLED = "cancelled"
    DISPLACED = "displaced"
    REMINDER = "reminder"


SUBJECT = N_("Your appointment — %(city)s ID")
OPENINGS = {
    Kind.BOOKED: N_("Your appointment is booked."),
    Kind.WAITING: N_("You are on the waitlist, number %(position)s in line. We will write to "
                     "you as soon as a time is free for you."),
    Kind.ASSIGNED: N_("A time became free and it is yours: your appointment is booked."),
    Kind.MOVED: N_("Your appointment was moved."),
    Kind.CANCELLED: N_("Your appointment is cancelled."),
    Kind.DISPLACED: N_("The centre is closed on the day of your appointment. You are now at "
                       "the front of the waitlist, and we will write to you with a new time."),
    Kind.REMINDER: N_("A reminder: your appointment is tomorrow."),
}
WHEN = N_("When: %(date)s at %(time)s")
WHERE = N_("Where: %(centre)s, %(address)s")
CODE = N_("Your confirmation code: %(code)s")
KEEP_CODE = N_("Keep this code: you need it to see, move or cancel your appointment.")
USE_CODE = N_("To see, move or cancel it, use the confirmation code from your first email.")


def send(session: Session, ctx: Context, appointment: Appointment, kind: Kind, *,
         slot: Slot | None = None, code: str | None = None, position: int | None = None,
         person: Person | None = None) -> None:
    """Queue the email, when the resident gave an address; `person` if already opened."""
    person = person or open_person(appointment, ctx.keys)
    if person is None or not person.email:
        return
    language = i18n.for_resident([appointment.language])
    gettext = i18n.translations(language).gettext
    lines = [gettext(OPENINGS[kind]) % {"position": position}]
    if slot is not None and kind is not Kind.CANCELLED:
        lines += ["", *_where_and_when(session, ctx, slot, language, gettext)]
    lines.append("")
    if code is not None:
        lines += [gettext(CODE) % {"code": code}, gettext(KEEP_CODE)]
    elif kind is not Kind.CANCELLED:
        lines.append(gettext(USE_CODE))
    lines += ["", ctx.settings.city_name]
    subject = gettext(SUBJECT) % {"city": ctx.settings.city_name}
    enqueue(session, ctx.keys, Email(to=person.email, subject=subject, body="\n".join(lines)))


def _where_and_when(session: Session, ctx: Context, slot: Slot, language: str,
                    translate: Callable[[str], str]) -> list[str]:
    moment = local_time(slot.starts_at, ctx.settings.timezone)
    centre = session.get(ServiceCentre, slot.centre_id)
    return [
        translate(WHEN) % {"date": format_date(moment.date(), format="full", locale=language),
                           "time": format_time(moment, format="short", locale=language)},
        translate(WHERE) % {"centre": centre.name if centre else "",
                            "address": centre.address if centre else ""},
    ]
