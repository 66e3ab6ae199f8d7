"""/admin/reports: the three reports as server-drawn charts with their tables, and CSV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from sqlmodel import Session
from starlette.responses import Response

from idsvc.clock import utcnow
from idsvc.csvfile import csv_response
from idsvc.db import SessionDep
from idsvc.errors import DomainError, Invalid, NotFound
from idsvc.reports import service
from idsvc.reports.charts import bar_chart
from idsvc.reports.schemas import report_csv
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission
from idsvc.web import i18n
from idsvc.web.forms import range_query
from idsvc.web.templating import gettext_for, language_of, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Staff, Depends(page_require(Permission.READ_REPORTS))]


@dataclass(frozen=True)
class Section:
    """One report on the page: its chart, its table and its CSV link."""

    report: service.Report
    heading: str
    row_heading: str
    period_heading: str
    chart: Markup
    note: str
    csv_href: str


def _typed_range(request: Request) -> tuple[str, str]:
    """The `from` and `to` dates as typed (text, so a bad one is shown back on the form)."""
    return request.query_params.get("from", "")[:10], request.query_params.get("to", "")[:10]


def _day(text: str) -> date | None:
    """A date from the form, or None when empty; ValueError when it is not a date."""
    return date.fromisoformat(text) if text else None


def _shower(request: Request) -> Callable[[service.Shown], str]:
    _ = gettext_for(request)
    locale = language_of(request)

    def show(value: service.Shown) -> str:
        if value == service.WITHHELD:
            return _("withheld")
        return value if isinstance(value, str) else format_decimal(value, locale=locale)

    return show


def _sections(request: Request, session: Session, since: date | None, until: date | None,
              query: str) -> list[Section]:
    _ = gettext_for(request)
    show = _shower(request)
    rtl = i18n.LANGUAGES[language_of(request)].rtl
    today = utcnow().date()
    texts = {
        "cards-issued": (_("Cards issued per week"), _("Service centre"), _("ISO week"),
                         _("Cards are counted under the service centre of the application "
                           "that was approved.")),
        "redemptions": (_("Benefit redemptions per month"), _("Partner"), _("Month"),
                        _("Voided redemptions are not counted.")),
        "verifications": (_("Card verifications per month"), _("Partner kind"), _("Month"),
                          _("Verification records are deleted after the retention period "
                            "(30 days by default), so this report only covers the records "
                            "still kept; older months show nothing.")),
    }
    sections = []
    for name, (heading, row_heading, period_heading, note) in texts.items():
        report = service.build(session, name, today=today, since=since, until=until)
        description = _("Total per period from %(start)s to %(end)s, %(count)s periods; "
                        "the table below gives every number.") % {
            "start": report.span.since.isoformat(), "end": report.span.until.isoformat(),
            "count": len(report.periods)}
        chart = bar_chart(chart_id=f"chart-{name}", title=heading, description=description,
                          labels=report.periods, values=report.column_totals, show=show,
                          rtl=rtl)
        sections.append(Section(report, heading, row_heading, period_heading, chart, note,
                                f"/admin/reports/{name}.csv{query}"))
    return sections


@router.get("/admin/reports")
def reports_page(request: Request, session: SessionDep, staff: Reader) -> Response:
    """Dates come from the form as text so a bad one is shown on the form, not as a 422."""
    since, until = _typed_range(request)
    _ = gettext_for(request)
    error = None
    query = range_query(since, until)
    try:
        sections = _sections(request, session, _day(since), _day(until),
                             f"?{query}" if query else "")
    except ValueError:
        error = _("Enter dates as year-month-day, for example 2026-03-31.")
    except DomainError as exc:
        error = (_("Ask for at most ten years at a time.") if exc.code == "range_too_long"
                 else _("The start date is after the end date."))
    if error:
        sections = _sections(request, session, None, None, "")
    return render(request, "admin/reports.html",
                  {"staff": staff, "sections": sections, "since": since, "until": until,
                   "error": error, "show": _shower(request)},
                  status_code=422 if error else 200)


@router.get("/admin/reports/{name}.csv")
def report_download(request: Request, session: SessionDep, _: Reader, name: str) -> Response:
    if name not in service.REPORTS:
        raise NotFound("No such report.", code="report_not_found")
    try:
        since, until = (_day(text) for text in _typed_range(request))
    except ValueError as exc:
        raise Invalid("Dates are year-month-day.", code="invalid_date") from exc
    report = service.build(session, name, today=utcnow().date(), since=since, until=until)
    return csv_response(report_csv(report), f"{name}.csv")
