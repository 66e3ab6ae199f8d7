"""Centre schedules, slots and appointments (a booking, or a place on the waitlist)."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class CentreSchedule(SQLModel, table=True):
    """How a centre takes appointments; the release fields override the settings."""

    __tablename__ = "centre_schedules"

    centre_id: int = Field(primary_key=True, foreign_key="service_centres.id")
    languages: str = Field(default="eng", max_length=200)  # ISO 639-3 codes, comma-separated
    slot_minutes: int = 15
    capacity: int = 1  # people served at once (desks), per slot
    release_weekday: int | None = None  # 0 Monday .. 6 Sunday
    release_time: time | None = None  # city time
    release_weeks_ahead: int | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OpeningHours(SQLModel, table=True):
    """One opening interval of a weekday; a day may have several (a lunch break)."""

    __tablename__ = "opening_hours"

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="service_centres.id", index=True)
    weekday: int  # 0 Monday .. 6 Sunday
    opens: time
    closes: time


class Closure(SQLModel, table=True):
    __tablename__ = "centre_closures"

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="service_centres.id", index=True)
    starts_on: date
    ends_on: date  # included
    reason: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Slot(SQLModel, table=True):
    """A time at a centre with `capacity` seats; bookable once released."""

    __tablename__ = "appointment_slots"
    __table_args__ = (UniqueConstraint("centre_id", "starts_at",
                                       name="uq_appointment_slots_centre_start"),)

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="service_centres.id", index=True)
    day: date = Field(index=True)  # the city's calendar day
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    capacity: int
    booked: int = 0  # only ever changed by one guarded UPDATE (see queue.take_seat)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Appointment(SQLModel, table=True):
    """A booking (`slot_id` set) or a place on the waitlist (`state` waiting).

    The name and contact are sealed under the row's own data key; the contact is also
    kept as keyed hashes, only to count a person's active requests.
    """

    __tablename__ = "appointments"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    state: str = Field(max_length=16, index=True)  # booked, waiting, cancelled, lapsed
    centre_id: int | None = Field(default=None, foreign_key="service_centres.id", index=True)
    slot_id: int | None = Field(default=None, foreign_key="appointment_slots.id", index=True)
    language: str = Field(max_length=3)  # ISO 639-3, the language to be served in
    # The waitlist: earlier `priority` first (0: moved out by a closure), then request time.
    priority: int = 1
    requested_at: datetime = Field(sa_type=UTCDateTime)
    wait_from: date | None = None
    wait_until: date | None = None
    email_key: str | None = Field(default=None, max_length=64, index=True)
    phone_key: str | None = Field(default=None, max_length=64, index=True)
    wrapped_key: bytes = b""  # empty once the personal data is wiped
    personal: bytes | None = None
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
