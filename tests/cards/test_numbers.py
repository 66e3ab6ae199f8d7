"""Card numbers and validity periods."""

from __future__ import annotations

from datetime import date

import pytest

from idsvc.cards import numbers
from idsvc.cards.validity import expiry_date
from idsvc.enrollment.policy import ValidityRules


def test_new_numbers_are_valid_random_and_twelve_digits():
    drawn = {numbers.new_card_number() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(len(n) == 12 and n[0] != "0" and numbers.normalise(n) == n for n in drawn)


def test_every_single_digit_error_is_caught():
    number = numbers.new_card_number()
    for position in range(12):
        for digit in "0123456789":
            if digit != number[position]:
                typo = number[:position] + digit + number[position + 1:]
                assert numbers.normalise(typo) is None


def test_every_adjacent_swap_is_caught():
    number = numbers.new_card_number()
    for i in range(11):
        if number[i] != number[i + 1]:
            swapped = number[:i] + number[i + 1] + number[i] + number[i + 2:]
            assert numbers.normalise(swapped) is None


@pytest.mark.parametrize("typed", ["", "abc", "1234", "١٢٣٤٥٦٧٨٩٠١٢", "12345678901234"])
def test_garbage_is_not_a_number(typed):
    assert numbers.normalise(typed) is None


def test_display_and_typing_with_spaces_round_trip():
    number = numbers.new_card_number()
    assert numbers.normalise(numbers.display(number)) == number
    assert numbers.normalise(numbers.display(number).replace(" ", "-")) == number


RULES = ValidityRules(years=5, minor_years=2, never_expires_from_age=0)


@pytest.mark.parametrize(("age", "years"), [(10, 2), (13, 2), (14, 5), (40, 5), (90, 5)])
def test_validity_by_age(age, years):
    issued = date(2026, 3, 1)
    assert expiry_date(age=age, issued_on=issued, rules=RULES, minor_until=13) == date(
        2026 + years, 3, 1)


def test_seniors_never_expire_when_the_policy_says_so():
    rules = ValidityRules(years=5, minor_years=2, never_expires_from_age=65)
    assert expiry_date(age=65, issued_on=date(2026, 1, 1), rules=rules, minor_until=13) is None
    assert expiry_date(age=64, issued_on=date(2026, 1, 1), rules=rules,
                       minor_until=13) == date(2031, 1, 1)


def test_leap_day_issue_expires_on_28_february():
    assert expiry_date(age=30, issued_on=date(2028, 2, 29), rules=RULES,
                       minor_until=13) == date(2033, 2, 28)
