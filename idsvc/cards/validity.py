"""How long a card is valid (DESIGN §7)."""

from __future__ import annotations

from datetime import date

from idsvc.enrollment.policy import ValidityRules


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return day.replace(year=day.year + years, day=28)


def expiry_date(
    *, age: int, issued_on: date, rules: ValidityRules, minor_until: int
) -> date | None:
    """None means the card never expires (seniors, where the city's policy says so)."""
    if rules.never_expires_from_age and age >= rules.never_expires_from_age:
        return None
    years = rules.minor_years if age <= minor_until else rules.years
    return add_years(issued_on, years)
