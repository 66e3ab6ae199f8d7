"""Benefit eligibility rules that need no database: periods, windows and ages."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class Period(StrEnum):
    LIFETIME = "lifetime"
    YEAR = "year"
    MONTH = "month"
    DAY = "day"


def period_key(period: Period, today: date) -> str:
    """Which calendar period `today` falls in; redemptions in one period share the key."""
    return {Period.LIFETIME: "lifetime", Period.YEAR: f"{today:%Y}",
            Period.MONTH: f"{today:%Y-%m}", Period.DAY: today.isoformat()}[period]


def next_period_start(period: Period, today: date) -> date | None:
    """When a used-up benefit becomes available again (never, for a lifetime benefit)."""
    if period == Period.LIFETIME:
        return None
    if period == Period.DAY:
        return today + timedelta(days=1)
    if period == Period.MONTH:
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return date(today.year + 1, 1, 1)


def window_reason(*, starts_on: date | None, ends_on: date | None, today: date) -> str | None:
    if starts_on is not None and today < starts_on:
        return "window"
    if ends_on is not None and today > ends_on:
        return "window"
    return None


def age_reason(*, min_age: int | None, max_age: int | None, age: int | None) -> str | None:
    """Ages are inclusive: a 65+ benefit opens on the 65th birthday."""
    if min_age is None and max_age is None:
        return None
    if age is None:
        return "age"
    if (min_age is not None and age < min_age) or (max_age is not None and age > max_age):
        return "age"
    return None
