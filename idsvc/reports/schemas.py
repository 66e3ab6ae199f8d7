"""API shapes of the aggregate reports: every count is a number or "<10" (or "suppressed"
for a total that would give a hidden count back)."""

from __future__ import annotations

import csv
import io
from datetime import date

from pydantic import BaseModel, Field

from idsvc.reports.service import Report

Count = int | str


class ReportRow(BaseModel):
    id: int | str | None = Field(description="Centre id, partner id or partner kind.")
    label: str
    counts: list[Count]
    total: Count


class ReportPublic(BaseModel):
    report: str
    from_: date = Field(alias="from")
    to: date
    periods: list[str]
    rows: list[ReportRow]
    totals: list[Count]
    total: Count


class RedemptionCount(BaseModel):
    partner_id: int
    partner_name: str
    benefit_id: int
    benefit_name: str
    month: str
    count: Count


def public(report: Report) -> ReportPublic:
    return ReportPublic.model_validate({
        "report": report.name, "from": report.span.since, "to": report.span.until,
        "periods": report.periods,
        "rows": [ReportRow(id=r.key, label=r.label, counts=r.cells, total=r.total)
                 for r in report.rows],
        "totals": report.column_totals, "total": report.total})


def report_csv(report: Report) -> str:
    """The page's table as CSV: the same hidden counts as the JSON."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["label", *report.periods, "total"])
    for row in report.rows:
        writer.writerow([row.label, *row.cells, row.total])
    writer.writerow(["total", *report.column_totals, report.total])
    return out.getvalue()
