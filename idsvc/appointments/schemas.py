"""API shapes of schedules (administrators) and appointments (the public)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from idsvc.languages import LANGUAGES
from idsvc.residents.schemas import Phone
from idsvc.text import Text

DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 Monday .. 6 Sunday")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Code = Annotated[str, Field(min_length=1, max_length=40)]


def _known_language(code: str) -> str:
    if code not in LANGUAGES:
        raise ValueError(f"unknown language code; one of {', '.join(LANGUAGES)}")
    return code


Language = Annotated[str, Field(max_length=3, description="ISO 639-3, e.g. spa; ase for ASL"),
                     AfterValidator(_known_language)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hours(Strict):
    weekday: Weekday
    opens: time
    closes: time

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class Release(Strict):
    """When this centre's slots open, instead of the settings' weekly release."""

    weekday: Weekday
    time: time
    weeks_ahead: int = Field(ge=0, le=52)


class ScheduleUpdate(Strict):
    languages: list[Language] = Field(min_length=1, max_length=20)
    slot_minutes: int = Field(ge=5, le=240)
    capacity: int = Field(ge=1, le=100, description="People served at once in each slot.")
    hours: list[Hours] = Field(max_length=50)
    release: Release | None = None


class ClosureCreate(Strict):
    starts_on: date
    ends_on: date
    reason: Text = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        if (self.ends_on - self.starts_on).days > 366:
            raise ValueError("a closure spans at most a year")
        return self


class ClosurePublic(BaseModel):
    id: int
    starts_on: date
    ends_on: date
    reason: str


class ClosureCreated(ClosurePublic):
    moved_to_waitlist: int = Field(description="Bookings of the closed days, now at the "
                                               "front of the waitlist.")


class SchedulePublic(BaseModel):
    centre_id: int
    languages: list[str]
    slot_minutes: int
    capacity: int
    hours: list[Hours]
    release: Release | None
    closures: list[ClosurePublic]


class ReleaseReport(BaseModel):
    created: int
    released: int
    assigned: int = Field(description="Released seats given to the waitlist.")


class Requester(Strict):
    name: Text = Field(min_length=1, max_length=200,
                       description="As you want to be called; no documents are asked.")
    email: Email | None = None
    phone: Phone | None = None
    language: Language


class BookingCreate(Requester):
    slot_id: DbId
    waitlist_until: date | None = Field(
        default=None, description="When the slot is full, wait for a seat at this centre up "
                                  "to this day (default: two weeks after the slot's day).")


class WaitlistCreate(Requester):
    centre_id: DbId | None = Field(default=None, description="Unset: any centre that "
                                                             "speaks the language.")
    from_date: date
    until_date: date

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.until_date < self.from_date:
            raise ValueError("until_date must not be before from_date")
        if (self.until_date - self.from_date).days > 366:
            raise ValueError("wait at most a year")
        return self


class CodeBody(Strict):
    code: Code


class MoveBody(Strict):
    code: Code
    slot_id: DbId


class CentreBrief(BaseModel):
    id: int
    code: str
    name: str
    address: str


class AppointmentPublic(BaseModel):
    status: Literal["booked", "waiting", "cancelled", "lapsed"]
    name: str | None
    language: str
    centre: CentreBrief | None
    starts_at: datetime | None
    ends_at: datetime | None
    position: int | None = Field(description="Place on the waitlist (1 is next).")
    from_date: date | None
    until_date: date | None


class AppointmentCreated(BaseModel):
    code: str = Field(description="Shown once: it views, moves and cancels the appointment.")
    appointment: AppointmentPublic


class DayCount(BaseModel):
    day: date
    free: int


class CentreAvailability(BaseModel):
    id: int
    code: str
    name: str
    address: str
    languages: list[str]
    days: list[DayCount] = Field(description="Free seats per day, from today on.")


class SlotPublic(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    free: int
