"""The retention rules' date arithmetic, and what a ledger file must look like."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from idsvc.errors import Invalid
from idsvc.retention.ledger import LedgerEntry, ledger_json, parse_ledger
from idsvc.retention.policy import expiry_cutoff


def _due(expired_on: date, today: date, years: int) -> bool:
    return expired_on < expiry_cutoff(today, years)


@pytest.mark.parametrize(("expired_on", "today", "due"), [
    (date(2020, 3, 1), date(2022, 3, 1), False),    # exactly two years: kept
    (date(2020, 3, 1), date(2022, 3, 2), True),
    (date(2020, 2, 29), date(2022, 2, 28), False),  # the anniversary of 29 Feb is 28 Feb
    (date(2020, 2, 29), date(2022, 3, 1), True),
    (date(2021, 2, 28), date(2024, 2, 28), False),
    (date(2021, 2, 28), date(2024, 2, 29), True),   # today 29 Feb: 28 Feb is past
])
def test_due_only_after_n_whole_years(expired_on, today, due):
    assert _due(expired_on, today, 2 if expired_on.year == 2020 else 3) is due


def _anniversary(day: date, years: int) -> date:
    """`day` plus `years` years, 29 February landing on 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 2, 28)


@pytest.mark.parametrize("today", [date(2028, 2, 29), date(2028, 3, 1), date(2027, 2, 28),
                                   date(2029, 3, 1)])
def test_cutoff_agrees_with_the_anniversary_of_every_expiry_date(today):
    for years in (1, 2, 4):
        for offset in range(-1600, 0):
            expired_on = today + timedelta(days=offset)
            assert (_anniversary(expired_on, years) < today) is _due(expired_on, today,
                                                                    years), expired_on


def test_ledger_file_round_trips_and_other_files_are_refused():
    entries = [LedgerEntry("0" * 31 + "a", date(2026, 12, 1))]
    assert parse_ledger(ledger_json(entries)) == entries
    for text in ("", "[]", '{"format": "x"}', '{"format": "idsvc-shred-ledger/1"}',
                 '{"format": "idsvc-shred-ledger/1", "entries": [{"resident_id": "x"}]}',
                 ledger_json([LedgerEntry("'; DROP TABLE residents; --", date(2026, 1, 1))])):
        with pytest.raises(Invalid):
            parse_ledger(text)
