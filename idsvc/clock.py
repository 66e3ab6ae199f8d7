"""Time, in one place, always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_time(moment: datetime, zone: str) -> datetime:
    """An instant as the city's clocks show it: pages print times in city time."""
    return moment.astimezone(ZoneInfo(zone))


def local_date(moment: datetime, zone: str) -> date:
    """The calendar date in the city: birthdays and expiry days turn at local midnight."""
    return local_time(moment, zone).date()


def local_today(zone: str) -> date:
    return local_date(utcnow(), zone)


def start_of_local_day(day: date, zone: str) -> datetime:
    """Local midnight at the start of `day` in the city, in UTC."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def end_of_local_day(day: date, zone: str) -> datetime:
    """The first instant after `day` in the city, in UTC."""
    return datetime.combine(day + timedelta(days=1), time.min,
                            tzinfo=ZoneInfo(zone)).astimezone(UTC)


def iso(moment: datetime) -> str:
    """An instant as the API writes it everywhere: ISO 8601 in UTC with a `Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def age_on(born: date, today: date) -> int:
    """Completed years: a birthday counts from its day (29 February from 1 March)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
