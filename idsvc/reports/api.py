"""Aggregate reports (administrators and auditors): JSON, or CSV with `Accept: text/csv`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from idsvc.clock import utcnow
from idsvc.csvfile import csv_response, csv_text
from idsvc.db import SessionDep
from idsvc.reports import service
from idsvc.reports.schemas import RedemptionCount, ReportPublic, public, report_csv
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission

router = APIRouter(tags=["reports"])
ReportReader = Annotated[Staff, Depends(require(Permission.READ_REPORTS))]
Since = Annotated[date | None, Query(alias="from")]
Until = Annotated[date | None, Query(alias="to")]
CSV = {200: {"content": {"text/csv": {}}}}


def wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


def _answer(request: Request, report: service.Report) -> Response:
    if wants_csv(request):
        return csv_response(report_csv(report), f"{report.name}.csv")
    return JSONResponse(public(report).model_dump(mode="json", by_alias=True))


@router.get("/reports/cards-issued", response_model=ReportPublic, responses=CSV)
def cards_issued(request: Request, session: SessionDep, _: ReportReader,
                 since: Since = None, until: Until = None) -> Response:
    """Cards issued per ISO week by service centre (default: the last 26 weeks)."""
    return _answer(request, service.build(session, "cards-issued", today=utcnow().date(),
                                          since=since, until=until))


@router.get("/reports/verifications", response_model=ReportPublic, responses=CSV)
def verifications(request: Request, session: SessionDep, _: ReportReader,
                  since: Since = None, until: Until = None) -> Response:
    """Verifications per partner kind and month, over the events still kept."""
    return _answer(request, service.build(session, "verifications", today=utcnow().date(),
                                          since=since, until=until))


REDEMPTION_FIELDS = ("partner_id", "partner_name", "benefit_id", "benefit_name", "month",
                     "count")


@router.get("/reports/redemptions", response_model=list[RedemptionCount], responses=CSV)
def redemption_counts(request: Request, session: SessionDep, _: ReportReader,
                      since: Since = None, until: Until = None) -> Response:
    """Live redemptions per partner, benefit and month (UTC; default: the last 12 months)."""
    span = service.date_range(since, until, default=service.monthly_default(utcnow().date()))
    rows = [RedemptionCount(partner_id=p, partner_name=pn, benefit_id=b, benefit_name=bn,
                            month=m, count=service.small(n)).model_dump(mode="json")
            for p, pn, b, bn, m, n in service.redemption_months(session, span)]
    if wants_csv(request):
        return csv_response(csv_text(REDEMPTION_FIELDS, rows), "redemptions.csv")
    return JSONResponse(rows)
