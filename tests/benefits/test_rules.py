"""Benefit rules at their edges."""

from __future__ import annotations

from datetime import date

import pytest

from idsvc.benefits.rules import (
    Period,
    age_reason,
    next_period_start,
    period_key,
    window_reason,
)
from idsvc.clock import age_on


@pytest.mark.parametrize(("period", "day", "key", "again"), [
    (Period.LIFETIME, date(2026, 12, 31), "lifetime", None),
    (Period.YEAR, date(2026, 12, 31), "2026", date(2027, 1, 1)),
    (Period.YEAR, date(2027, 1, 1), "2027", date(2028, 1, 1)),
    (Period.MONTH, date(2026, 12, 31), "2026-12", date(2027, 1, 1)),
    (Period.MONTH, date(2026, 1, 31), "2026-01", date(2026, 2, 1)),
    (Period.DAY, date(2028, 2, 28), "2028-02-28", date(2028, 2, 29)),
])
def test_period_keys_and_when_a_benefit_returns(period, day, key, again):
    assert period_key(period, day) == key
    assert next_period_start(period, day) == again


def test_last_and_first_day_of_a_period_are_different_periods():
    assert period_key(Period.MONTH, date(2026, 11, 30)) != period_key(Period.MONTH,
                                                                      date(2026, 12, 1))


def test_the_day_someone_turns_65():
    born = date(1961, 11, 23)
    assert age_on(born, date(2026, 11, 22)) == 64
    assert age_on(born, date(2026, 11, 23)) == 65
    assert age_reason(min_age=65, max_age=None, age=64) == "age"
    assert age_reason(min_age=65, max_age=None, age=65) is None
    assert age_reason(min_age=None, max_age=17, age=18) == "age"


def test_window_is_inclusive_and_closes_after_its_last_day():
    window = {"starts_on": date(2026, 1, 1), "ends_on": date(2026, 12, 31)}
    assert window_reason(**window, today=date(2025, 12, 31)) == "window"
    assert window_reason(**window, today=date(2026, 1, 1)) is None
    assert window_reason(**window, today=date(2026, 12, 31)) is None
    assert window_reason(**window, today=date(2027, 1, 1)) == "window"
