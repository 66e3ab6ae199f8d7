"""City-local dates: ages and expiry turn at the city's midnight, not UTC's."""

from __future__ import annotations

from datetime import UTC, date, datetime

from idsvc.clock import end_of_local_day, local_date


def test_evening_in_new_york_is_still_the_same_day():
    late_evening = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)  # 22:30 on the 22nd in New York
    assert local_date(late_evening, "America/New_York") == date(2026, 11, 22)
    assert local_date(late_evening, "UTC") == date(2026, 11, 23)


def test_card_expires_at_local_midnight_after_its_last_day():
    assert end_of_local_day(date(2031, 7, 1), "America/New_York") == datetime(
        2031, 7, 2, 4, 0, tzinfo=UTC)  # daylight saving: UTC-4
    assert end_of_local_day(date(2031, 1, 1), "America/New_York") == datetime(
        2031, 1, 2, 5, 0, tzinfo=UTC)
