"""The schedule form of /admin/centres/{id}: its fields to a `ScheduleUpdate`, and back.

Opening hours are a grid of interval rows per weekday (`hours-<weekday>-<row>-opens` and
`-closes`, HTML time inputs): an empty row is no interval, so a lunch break is two rows
of one day. The release rule is three fields, all empty for the city's default. The form
is checked by the API's own schema, so the page and PUT /schedule accept the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlmodel import Session
from starlette.datastructures import FormData

from idsvc.appointments.models import CentreSchedule, OpeningHours
from idsvc.appointments.schedule import hours_of, languages_of, release_of
from idsvc.appointments.schemas import ScheduleUpdate
from idsvc.web.forms import FormInvalid, by_field, form_text

ROWS = 3  # interval rows per weekday on an empty form: morning, afternoon, evening
MAX_ROWS = 50  # as many intervals as ScheduleUpdate takes: no post may name a row beyond
WEEKDAYS = range(7)  # 0 Monday .. 6 Sunday, as the API
RELEASE_FIELDS = ("release_weekday", "release_time", "release_weeks_ahead")
NUMBERS = ("slot_minutes", "capacity")


def row_name(weekday: int, row: int) -> str:
    """A row's name: its inputs are `<name>-opens` and `<name>-closes`; its error, `<name>`."""
    return f"hours-{weekday}-{row}"


FIELDS = frozenset({"languages", *NUMBERS, *RELEASE_FIELDS,
                    *(f"{row_name(day, row)}-{end}" for day in WEEKDAYS
                      for row in range(MAX_ROWS) for end in ("opens", "closes"))})


@dataclass(frozen=True)
class ScheduleForm:
    """What the form shows: text values by field name, the languages ticked, and how many
    interval rows each weekday gets."""

    values: dict[str, str]
    languages: list[str]
    rows: int


EMPTY = ScheduleForm(values={"slot_minutes": "15", "capacity": "1"}, languages=["eng"],
                     rows=ROWS)


def _clock(value: time) -> str:
    return value.isoformat(timespec="minutes")


def of_schedule(session: Session, schedule: CentreSchedule) -> ScheduleForm:
    """The saved schedule as the form shows it (every saved interval gets a row)."""
    values = {"slot_minutes": str(schedule.slot_minutes), "capacity": str(schedule.capacity)}
    per_day: dict[int, list[OpeningHours]] = {}
    for interval in hours_of(session, schedule.centre_id):
        per_day.setdefault(interval.weekday, []).append(interval)
    for day, intervals in per_day.items():
        for row, interval in enumerate(intervals):
            values[f"{row_name(day, row)}-opens"] = _clock(interval.opens)
            values[f"{row_name(day, row)}-closes"] = _clock(interval.closes)
    release = release_of(schedule)
    if release is not None:
        values.update(release_weekday=str(release.weekday), release_time=_clock(release.time),
                      release_weeks_ahead=str(release.weeks_ahead))
    return ScheduleForm(values, languages_of(schedule),
                        max([ROWS, *(len(rows) for rows in per_day.values())]))


def of_post(form: FormData) -> ScheduleForm:
    """The posted form, to check and, when refused, to show again as it was sent."""
    values = {name: form_text(form, name) for name in FIELDS if name != "languages"}
    used = [row + 1 for day in WEEKDAYS for row in range(MAX_ROWS)
            if values[f"{row_name(day, row)}-opens"] or values[f"{row_name(day, row)}-closes"]]
    languages = [value for value in form.getlist("languages") if isinstance(value, str)]
    return ScheduleForm({name: value for name, value in values.items() if value}, languages,
                        max([ROWS, *used]))


def messages(_: Callable[[str], str]) -> dict[str, str]:
    """What each part of the form wants, in the page's language (values never echoed)."""
    return {"languages": _("Tick at least one language from the list."),
            "slot_minutes": _("A slot length from 5 to 240 minutes."),
            "capacity": _("A number of seats from 1 to 100."),
            "order": _("The closing time must be after the opening time."),
            "time": _("Write both times of the interval, as hours and minutes."),
            "hours": _("At most 50 opening intervals in all."),
            "release_weekday": _("Choose a weekday, or leave the three release fields empty."),
            "release_time": _("Write a time, or leave the three release fields empty."),
            "release_weeks_ahead": _("A number of weeks from 0 to 52, or leave the three "
                                     "release fields empty."),
            "": _("Check the form.")}


def parse(shown: ScheduleForm, wanted: dict[str, str]) -> ScheduleUpdate:
    """The update the form asks for, or FormInvalid with `wanted`'s words by field (an
    interval's problem is shown on its row)."""
    values = shown.values
    hours, rows = [], []  # rows[k]: the form row of hours[k]
    for day in WEEKDAYS:
        for row in range(shown.rows):
            opens = values.get(f"{row_name(day, row)}-opens", "")
            closes = values.get(f"{row_name(day, row)}-closes", "")
            if opens or closes:
                hours.append({"weekday": day, "opens": opens, "closes": closes})
                rows.append(row_name(day, row))
    release = {name.removeprefix("release_"): values.get(name, "") for name in RELEASE_FIELDS}
    data = {"languages": shown.languages, "hours": hours,
            "release": release if any(release.values()) else None,
            **{name: values.get(name, "") for name in NUMBERS}}

    def explain(problem: ErrorDetails) -> tuple[str, str]:
        loc = problem["loc"]
        if loc[:1] == ("hours",) and len(loc) > 1 and isinstance(loc[1], int):
            in_order = "closes must be after opens" in problem["msg"]
            return rows[loc[1]], wanted["order" if in_order else "time"]
        if loc[:1] == ("release",) and len(loc) > 1:
            return f"release_{loc[1]}", wanted[f"release_{loc[1]}"]
        name = str(loc[0]) if loc else ""
        return (name, wanted[name]) if name in wanted else ("", wanted[""])

    try:
        return ScheduleUpdate.model_validate(data)
    except ValidationError as exc:
        raise FormInvalid(by_field(exc, explain)) from exc
