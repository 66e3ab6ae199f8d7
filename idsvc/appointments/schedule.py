"""Centre schedules: opening hours, languages, slot length and seats; slot generation and
the weekly release boundary. Nothing here touches bookings (see service.py)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from idsvc.appointments.models import CentreSchedule, Closure, OpeningHours, Slot
from idsvc.appointments.schemas import Hours, Release, ScheduleUpdate
from idsvc.audit.service import Actor, record
from idsvc.centres import service as centres
from idsvc.clock import utcnow
from idsvc.config import Settings
from idsvc.errors import Invalid


@dataclass(frozen=True)
class ReleaseRule:
    """Each `weekday` at `at` (city time), the week `weeks_ahead` weeks on opens."""

    weekday: int
    at: time
    weeks_ahead: int

    @classmethod
    def for_centre(cls, schedule: CentreSchedule, settings: Settings) -> ReleaseRule:
        hour, minute = (int(p) for p in settings.appointment_release_time.split(":"))
        return cls(
            settings.appointment_release_weekday if schedule.release_weekday is None
            else schedule.release_weekday,
            time(hour, minute) if schedule.release_time is None else schedule.release_time,
            settings.appointment_release_weeks_ahead if schedule.release_weeks_ahead is None
            else schedule.release_weeks_ahead)

    def released_before(self, now: datetime, zone: str) -> date:
        """The first city day not released yet at `now`.

        The release of week W (its Monday) opens every day up to the end of week
        W + weeks_ahead; before this week's release moment, last week's release holds.
        """
        local = now.astimezone(ZoneInfo(zone))
        monday = local.date() - timedelta(days=local.weekday())
        moment = datetime.combine(monday + timedelta(days=self.weekday), self.at,
                                  tzinfo=ZoneInfo(zone))
        if local < moment:
            monday -= timedelta(weeks=1)
        return monday + timedelta(weeks=self.weeks_ahead + 1)


def find_schedule(session: Session, centre_id: int) -> CentreSchedule | None:
    return session.get(CentreSchedule, centre_id)


def languages_of(schedule: CentreSchedule) -> list[str]:
    return [code for code in schedule.languages.split(",") if code]


def hours_of(session: Session, centre_id: int) -> list[OpeningHours]:
    return list(session.exec(select(OpeningHours).where(OpeningHours.centre_id == centre_id)
                             .order_by(col(OpeningHours.weekday), col(OpeningHours.opens))))


def closures_of(session: Session, centre_id: int) -> list[Closure]:
    return list(session.exec(select(Closure).where(Closure.centre_id == centre_id)
                             .order_by(col(Closure.starts_on))))


def release_of(schedule: CentreSchedule) -> Release | None:
    if schedule.release_weekday is None or schedule.release_time is None \
            or schedule.release_weeks_ahead is None:
        return None
    return Release(weekday=schedule.release_weekday, time=schedule.release_time,
                   weeks_ahead=schedule.release_weeks_ahead)


def set_schedule(session: Session, *, centre_id: int, update: ScheduleUpdate,
                 actor: Actor) -> CentreSchedule:
    """Replace the centre's schedule. Slots not released yet are made again from it at
    the next release; released slots stay (close a day with a closure instead)."""
    centres.get_centre(session, centre_id)
    _check_overlaps(update.hours)
    schedule = find_schedule(session, centre_id) or CentreSchedule(centre_id=centre_id,
                                                                   updated_at=utcnow())
    schedule.languages = ",".join(dict.fromkeys(update.languages))
    schedule.slot_minutes, schedule.capacity = update.slot_minutes, update.capacity
    release = update.release
    schedule.release_weekday = release.weekday if release else None
    schedule.release_time = release.time if release else None
    schedule.release_weeks_ahead = release.weeks_ahead if release else None
    schedule.updated_at = utcnow()
    session.add(schedule)
    session.execute(delete(OpeningHours).where(col(OpeningHours.centre_id) == centre_id))
    for hours in update.hours:
        session.add(OpeningHours(centre_id=centre_id, weekday=hours.weekday, opens=hours.opens,
                                 closes=hours.closes))
    session.execute(delete(Slot).where(col(Slot.centre_id) == centre_id,
                                       col(Slot.released_at).is_(None)))
    session.flush()
    record(session, actor=actor, action="centre.schedule", subject_type="centre",
           subject_id=str(centre_id), details={
               "languages": schedule.languages, "slot_minutes": schedule.slot_minutes,
               "capacity": schedule.capacity, "intervals": len(update.hours),
               "release": release.model_dump(mode="json") if release else None})
    return schedule


def _check_overlaps(hours: list[Hours]) -> None:
    by_day: dict[int, list[Hours]] = {}
    for interval in hours:
        by_day.setdefault(interval.weekday, []).append(interval)
    for day, intervals in by_day.items():
        intervals.sort(key=lambda h: h.opens)
        for first, second in itertools.pairwise(intervals):
            if second.opens < first.closes:
                raise Invalid(f"Opening hours overlap on weekday {day}.", code="hours_overlap")


def closed_days(session: Session, centre_id: int, first: date, last: date) -> set[date]:
    days: set[date] = set()
    for closure in session.exec(select(Closure).where(
            Closure.centre_id == centre_id, col(Closure.ends_on) >= first,
            col(Closure.starts_on) <= last)):
        day = max(closure.starts_on, first)
        while day <= min(closure.ends_on, last):
            days.add(day)
            day += timedelta(days=1)
    return days


def generate(session: Session, *, schedule: CentreSchedule, first: date, last: date,
             zone: str, now: datetime) -> int:
    """Create the missing slots of the open days from `first` to `last` (city days) that
    start after `now`; the number created. Unreleased until `release` says so."""
    hours = hours_of(session, schedule.centre_id)
    if not hours or last < first:
        return 0
    closed = closed_days(session, schedule.centre_id, first, last)
    existing = set(session.exec(select(Slot.starts_at).where(
        Slot.centre_id == schedule.centre_id, col(Slot.day) >= first, col(Slot.day) <= last)))
    length = timedelta(minutes=schedule.slot_minutes)
    tz = ZoneInfo(zone)
    created = 0
    day = first
    while day <= last:
        if day not in closed:
            for interval in hours:
                if interval.weekday != day.weekday():
                    continue
                start = datetime.combine(day, interval.opens, tzinfo=tz)
                end_of_interval = datetime.combine(day, interval.closes, tzinfo=tz)
                while start + length <= end_of_interval:
                    starts_at = start.astimezone(UTC)
                    if starts_at > now and starts_at not in existing:
                        session.add(Slot(centre_id=schedule.centre_id, day=day,
                                         starts_at=starts_at, ends_at=starts_at + length,
                                         capacity=schedule.capacity))
                        created += 1
                    start += length
        day += timedelta(days=1)
    session.flush()
    return created


def all_schedules(session: Session) -> list[CentreSchedule]:
    return list(session.exec(select(CentreSchedule).order_by(col(CentreSchedule.centre_id))))
