"""Time, in one place, always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_date(moment: datetime, zone: str) -> date:
    """The calendar date in the city: birthdays and expiry days turn at local midnight."""
    return moment.astimezone(ZoneInfo(zone)).date()


def local_today(zone: str) -> date:
    return local_date(utcnow(), zone)


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
