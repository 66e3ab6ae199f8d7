"""The three aggregate reports, counted in SQL and protected against small counts.

Each report is a table: one row per group (service centre, partner, partner kind), one
column per period (ISO week or month, UTC). The database does the counting with
GROUP BY on the UTC day or month text, so the work stays in the database however many
cards or events there are; Python only folds days into ISO weeks (the dialects disagree
on week functions) and applies the small-count rule.

Small-count rule (what `suppress` implements):
1. A count from 1 to 9 is shown as "<10"; 0 stays 0.
2. Row, column and grand totals are computed from the true counts, then hidden the same
   way when they are themselves from 1 to 9.
3. A total is also withheld ("suppressed") when exactly one of the values it adds up is
   hidden, because subtracting the shown values from it would give that value back:
   a row total when one cell of its row is hidden, a column total when one cell of its
   column is hidden, the grand total when exactly one row total or one column total is
   hidden.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, func, literal
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from idsvc.benefits.models import Benefit, Redemption
from idsvc.cards.models import Card
from idsvc.centres.models import ServiceCentre
from idsvc.enrollment.models import Application
from idsvc.errors import Invalid
from idsvc.partners.models import Partner
from idsvc.verification.models import VerificationEvent

SMALL = "<10"
WITHHELD = "suppressed"
SMALL_LIMIT = 10
MAX_RANGE_DAYS = 3_700  # about ten years: bounded work for one request
Shown = int | str


@dataclass(frozen=True)
class DateRange:
    """Both ends included, in UTC days; `bucket` is the period a report counts in."""

    since: date
    until: date
    bucket: str = "day"  # "week" or "month" for the reports

    def whole_periods(self) -> DateRange:
        """Widened to whole weeks or months. Counts are then only ever of whole periods, so
        two asked ranges never differ by a few days, whose small count subtracting one
        report from the other would give back."""
        if self.bucket == "week":
            return replace(self, since=self.since - timedelta(days=self.since.weekday()),
                           until=self.until + timedelta(days=6 - self.until.weekday()))
        if self.bucket == "month":
            year, month = divmod(self.until.year * 12 + self.until.month, 12)  # the next one
            return replace(self, since=self.since.replace(day=1),
                           until=date(year, month + 1, 1) - timedelta(days=1))
        return self

    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.since, time(), tzinfo=UTC)
        return start, datetime.combine(self.until + timedelta(days=1), time(), tzinfo=UTC)


def weekly_default(today: date) -> DateRange:
    """The last 26 ISO weeks, this one included."""
    monday = today - timedelta(days=today.weekday())
    return DateRange(monday - timedelta(weeks=25), today, "week")


def monthly_default(today: date) -> DateRange:
    """The last 12 calendar months, this one included."""
    year, month = divmod(today.year * 12 + today.month - 1 - 11, 12)
    return DateRange(date(year, month + 1, 1), today, "month")


def date_range(since: date | None, until: date | None, *, default: DateRange) -> DateRange:
    """The asked range, filled from the default and widened to the default's whole periods
    (weeks or months); refused when reversed or too long."""
    if since is None and until is None:
        return default.whole_periods()
    until = until or default.until
    since = since or until - (default.until - default.since)
    if since > until:
        raise Invalid("The start date is after the end date.", code="invalid_range")
    if (until - since).days > MAX_RANGE_DAYS:
        raise Invalid("Ask for at most ten years at a time.", code="range_too_long")
    return DateRange(since, until, default.bucket).whole_periods()


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def periods(span: DateRange, bucket: str) -> list[str]:
    """Every week or month the range touches, in order, empty ones included."""
    label = iso_week if bucket == "week" else month_of
    out: list[str] = []
    day = span.since
    while day <= span.until:
        if not out or out[-1] != label(day):
            out.append(label(day))
        day += timedelta(days=1)
    return out


def _utc_text(session: Session, column: Any, unit: str) -> ColumnElement[str]:
    """'YYYY-MM-DD' (unit day) or 'YYYY-MM' (unit month) of a UTC timestamp column.

    SQLite keeps the UTC time as text; PostgreSQL converts a timestamptz with the
    session's time zone unless told UTC.
    """
    if session.get_bind().dialect.name == "postgresql":
        pattern = "YYYY-MM-DD" if unit == "day" else "YYYY-MM"
        return func.to_char(func.timezone(literal("UTC"), column), pattern, type_=String)
    return func.substr(column, 1, 10 if unit == "day" else 7, type_=String)


@dataclass
class Table:
    """True counts by (row key, period), with row labels; not for display before `suppress`."""

    periods: list[str]
    labels: dict[Any, str] = field(default_factory=dict)
    counts: dict[tuple[Any, str], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, key: Any, label: str, period: str, count: int) -> None:
        self.labels.setdefault(key, label)
        if period in self.periods:
            self.counts[(key, period)] += count


@dataclass(frozen=True)
class ShownRow:
    key: Any
    label: str
    cells: list[Shown]
    total: Shown


@dataclass(frozen=True)
class Report:
    """A table ready to show: every number already passed through the small-count rule."""

    name: str
    span: DateRange
    periods: list[str]
    rows: list[ShownRow]
    column_totals: list[Shown]
    total: Shown


def small(count: int) -> Shown:
    return SMALL if 0 < count < SMALL_LIMIT else count


def _hidden(value: Shown) -> bool:
    return isinstance(value, str)


def _total(true_value: int, parts: Iterable[Shown]) -> Shown:
    shown = small(true_value)
    if _hidden(shown):
        return shown
    return WITHHELD if sum(1 for part in parts if _hidden(part)) == 1 else shown


def suppress(name: str, span: DateRange, table: Table) -> Report:
    """Apply the small-count rule of this module's docstring to a table of true counts."""
    keys = sorted(table.labels, key=lambda k: (table.labels[k].casefold(), str(k)))
    true_rows = [[table.counts.get((k, p), 0) for p in table.periods] for k in keys]
    shown_rows = [[small(n) for n in row] for row in true_rows]
    rows = [ShownRow(k, table.labels[k], shown, _total(sum(true), shown))
            for k, true, shown in zip(keys, true_rows, shown_rows, strict=True)]
    column_values = [sum(row[i] for row in true_rows) for i in range(len(table.periods))]
    column_totals = [_total(value, (row[i] for row in shown_rows))
                     for i, value in enumerate(column_values)]
    grand = sum(column_values)
    total = small(grand)
    if not _hidden(total) and (sum(_hidden(r.total) for r in rows) == 1
                               or sum(_hidden(c) for c in column_totals) == 1):
        total = WITHHELD
    return Report(name, span, table.periods, rows, column_totals, total)


def cards_issued(session: Session, span: DateRange) -> Report:
    """Cards issued per ISO week, by the service centre of the approving application.

    A card without an application (none is issued that way today) counts under the
    centre recorded on the card itself.
    """
    start, end = span.bounds()
    day = _utc_text(session, Card.issued_at, "day")
    centre = func.coalesce(Application.centre_id, Card.centre_id)
    statement = (select(centre, ServiceCentre.name, day, func.count())
                 .select_from(Card)
                 .outerjoin(Application, Application.id == Card.application_id)
                 .outerjoin(ServiceCentre, ServiceCentre.id == centre)
                 .where(Card.issued_at >= start, Card.issued_at < end)
                 .group_by(centre, ServiceCentre.name, day))
    table = Table(periods(span, "week"))
    for centre_id, name, text, count in session.exec(statement):
        table.add(centre_id, name or "—", iso_week(date.fromisoformat(text)), count)
    return suppress("cards-issued", span, table)


def redemption_months(session: Session,
                      span: DateRange) -> list[tuple[int, str, int, str, str, int]]:
    """(partner id, partner name, benefit id, benefit name, month, live redemptions).

    The one count of redemptions: the per-benefit API list and the per-partner
    report are both folded from these rows.
    """
    start, end = span.bounds()
    month = _utc_text(session, Redemption.redeemed_at, "month")
    statement = (select(Partner.id, Partner.name, Benefit.id, Benefit.name, month,
                        func.count(Redemption.id))
                 .join(Benefit, Benefit.id == Redemption.benefit_id)
                 .join(Partner, Partner.id == Benefit.partner_id)
                 .where(Redemption.voided_at.is_(None),  # type: ignore[union-attr]
                        Redemption.redeemed_at >= start, Redemption.redeemed_at < end)
                 .group_by(Partner.id, Partner.name, Benefit.id, Benefit.name, month)
                 .order_by(month, Partner.name, Benefit.name))
    return [tuple(row) for row in session.exec(statement)]  # type: ignore[misc]


def redemptions(session: Session, span: DateRange) -> Report:
    """Live (not voided) redemptions per partner and month."""
    table = Table(periods(span, "month"))
    for partner_id, partner_name, _, _, month, count in redemption_months(session, span):
        table.add(partner_id, partner_name, month, count)
    return suppress("redemptions", span, table)


def verifications(session: Session, span: DateRange) -> Report:
    """Verifications per partner kind and month, from the events still kept (they are
    purged after the retention period, so older months read as empty)."""
    start, end = span.bounds()
    month = _utc_text(session, VerificationEvent.at, "month")
    statement = (select(Partner.kind, month, func.count(VerificationEvent.id))
                 .join(Partner, Partner.id == VerificationEvent.partner_id)
                 .where(VerificationEvent.at >= start, VerificationEvent.at < end)
                 .group_by(Partner.kind, month))
    table = Table(periods(span, "month"))
    for kind, text, count in session.exec(statement):
        table.add(kind, kind, text, count)
    return suppress("verifications", span, table)


REPORTS = {"cards-issued": (cards_issued, weekly_default),
           "redemptions": (redemptions, monthly_default),
           "verifications": (verifications, monthly_default)}


def build(session: Session, name: str, *, today: date, since: date | None,
          until: date | None) -> Report:
    """One report by name over the asked range (or its default)."""
    compute, default = REPORTS[name]
    return compute(session, date_range(since, until, default=default(today)))
