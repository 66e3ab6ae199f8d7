"""Property tests for the benefit eligibility rules, alone and through the redemption API.

The pure rules (periods, windows, ages) are checked over every date Hypothesis finds; the
API properties take any sequence of redemptions and voids against a benefit with any
per-card limit and total quota, and check that neither is ever exceeded and that each
refusal is the right one.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idsvc.benefits.rules import (
    Period,
    age_reason,
    next_period_start,
    period_key,
    window_reason,
)
from idsvc.clock import age_on
from tests.factories import enroll_and_approve, years_ago

PURE = settings(max_examples=400, deadline=None, derandomize=True)
# Dates a city can see; the year 9999 has no "next year" for `date` to hold.
DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(9998, 12, 31))
CALENDAR_PERIODS = st.sampled_from([Period.YEAR, Period.MONTH, Period.DAY])


@PURE
@given(CALENDAR_PERIODS, DAYS)
def test_a_used_up_benefit_stays_used_up_until_the_next_period_starts(period, today):
    """Every day from `today` to the day before `next_period_start` shares its period key
    (a redemption today still counts), and that start day does not (it counts no more)."""
    again = next_period_start(period, today)
    assert again is not None and again > today
    key = period_key(period, today)
    assert period_key(period, again - timedelta(days=1)) == key
    assert period_key(period, again) != key
    assert (again - today).days <= {Period.DAY: 1, Period.MONTH: 31, Period.YEAR: 366}[period]


@PURE
@given(CALENDAR_PERIODS, DAYS, st.integers(min_value=0, max_value=400))
def test_period_keys_change_only_at_period_starts(period, today, offset):
    later = today + timedelta(days=offset)
    crossed = next_period_start(period, today) <= later  # type: ignore[operator]
    assert (period_key(period, later) != period_key(period, today)) == crossed


@PURE
@given(DAYS, DAYS)
def test_a_lifetime_benefit_never_comes_back(first, second):
    assert period_key(Period.LIFETIME, first) == period_key(Period.LIFETIME, second)
    assert next_period_start(Period.LIFETIME, first) is None


@PURE
@given(st.integers(min_value=0, max_value=130), st.integers(min_value=0, max_value=130),
       st.integers(min_value=0, max_value=130))
def test_ages_are_inclusive_at_both_ends(low, high, age):
    low, high = min(low, high), max(low, high)
    assert (age_reason(min_age=low, max_age=high, age=age) is None) == (low <= age <= high)
    assert (age_reason(min_age=low, max_age=None, age=age) is None) == (age >= low)
    assert (age_reason(min_age=None, max_age=high, age=age) is None) == (age <= high)


@PURE
@given(st.integers(min_value=0, max_value=130) | st.none(),
       st.integers(min_value=0, max_value=130) | st.none())
def test_an_unknown_age_passes_only_a_benefit_with_no_age_rule(low, high):
    expected = None if low is None and high is None else "age"
    assert age_reason(min_age=low, max_age=high, age=None) == expected


@PURE
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       st.integers(min_value=1, max_value=110))
def test_an_age_rule_opens_on_the_birthday_not_the_day_before(born, years):
    """For someone born on 29 February, the birthday in a common year is 1 March."""
    try:
        birthday = born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year
        birthday = date(born.year + years, 3, 1)
    assert age_on(born, birthday) == years
    assert age_on(born, birthday - timedelta(days=1)) == years - 1
    assert age_reason(min_age=years, max_age=None, age=age_on(born, birthday)) is None
    assert age_reason(min_age=years, max_age=None,
                      age=age_on(born, birthday - timedelta(days=1))) == "age"
    assert age_reason(min_age=None, max_age=years - 1, age=age_on(born, birthday)) == "age"


@PURE
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       st.lists(st.integers(min_value=0, max_value=40000), min_size=2, max_size=10))
def test_age_never_goes_down_and_grows_about_a_year_a_year(born, offsets):
    days = sorted(born + timedelta(days=n) for n in offsets)
    ages = [age_on(born, day) for day in days]
    assert all(a <= b for a, b in pairwise(ages))
    for day, age in zip(days, ages, strict=True):
        assert age >= 0 and abs(age - (day - born).days / 365.2425) < 1


@PURE
@given(DAYS | st.none(), DAYS | st.none(), DAYS)
def test_a_window_includes_both_of_its_ends(starts_on, ends_on, today):
    inside = ((starts_on is None or starts_on <= today)
              and (ends_on is None or today <= ends_on))
    assert (window_reason(starts_on=starts_on, ends_on=ends_on, today=today) is None) == inside


# --- Through the API: limits and quotas are never exceeded --------------------------------

CARDS = 3
# One step: card i redeems, or the partner voids its redemption number j (if there is one).
STEPS = st.lists(st.tuples(st.sampled_from(["redeem", "void"]),
                           st.integers(min_value=0, max_value=CARDS - 1)),
                 min_size=1, max_size=12)
API = settings(max_examples=12, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])


def _museum(client, admin):
    partner = client.post("/api/v1/partners", json={"name": "Property Museum",
                                                    "kind": "cultural"}, headers=admin).json()
    key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
    return partner["id"], {"Authorization": f"Bearer {key['api_key']}"}


def _redeem(client, headers, benefit_id, number):
    return client.post("/api/v1/redemptions", json={"benefit_id": benefit_id,
                                                    "card_number": number},
                       headers={**headers, "Idempotency-Key": uuid.uuid4().hex})


def test_limits_and_quotas_are_never_exceeded(client, clerk, admin):
    partner_id, headers = _museum(client, admin)
    numbers = [enroll_and_approve(client, clerk, given_name=f"Holder{i}",
                                  date_of_birth=years_ago(30 + i).isoformat())["card_number"]
               for i in range(CARDS)]

    @API
    @given(limit=st.integers(min_value=1, max_value=3),
           period=st.sampled_from(["lifetime", "year", "month", "day"]),
           quota=st.integers(min_value=1, max_value=5) | st.none(), steps=STEPS)
    def run(limit, period, quota, steps):
        body = {"name": "Entry", "category": "culture",
                "limit": {"count": limit, "period": period}}
        if quota is not None:
            body["quota"] = quota
        created = client.post(f"/api/v1/partners/{partner_id}/benefits", json=body,
                              headers=admin)
        assert created.status_code == 201, created.text
        benefit_id = created.json()["id"]
        live: list[tuple[int, int]] = []  # (redemption id, card) not voided
        for action, index in steps:
            if action == "void":
                if not live:
                    continue
                redemption_id, _ = live.pop(index % len(live))
                r = client.post(f"/api/v1/redemptions/{redemption_id}/void", headers=headers)
                assert r.status_code == 200, r.text
                continue
            used_by_card = sum(1 for _, card in live if card == index)
            r = _redeem(client, headers, benefit_id, numbers[index])
            if used_by_card >= limit:
                assert r.status_code == 409, r.text
                assert r.json()["error"] == "already_redeemed"
                again = r.json()["available_again"]
                assert (again is None) == (period == "lifetime")
            elif quota is not None and len(live) >= quota:
                assert r.status_code == 422, r.text
                assert r.json()["reason"] == "quota"
            else:
                assert r.status_code == 201, r.text
                live.append((r.json()["id"], index))
            assert quota is None or len(live) <= quota
            assert all(sum(1 for _, c in live if c == i) <= limit for i in range(CARDS))

    run()
