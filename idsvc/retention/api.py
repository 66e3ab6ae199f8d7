"""GET /api/v1/retention/report: the data-minimisation report, for auditors and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from idsvc.csvfile import csv_response
from idsvc.db import SessionDep
from idsvc.retention import report as reports
from idsvc.retention.schemas import RetentionReportPublic
from idsvc.runtime import RuntimeDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

router = APIRouter(tags=["retention"])
AuditReader = Annotated[Staff, Depends(require(Permission.READ_AUDIT))]


@router.get("/retention/report", response_model=RetentionReportPublic,
            responses={200: {"content": {"text/csv": {}}}})
def retention_report(request: Request, session: SessionDep, runtime: RuntimeDep,
                     staff: AuditReader) -> Response:
    """What personal data is stored, for whom and how old, in counts (CSV with
    `Accept: text/csv`). Each reading is audited."""
    result = reports.audited_report(session, settings=runtime.settings, actor=actor_of(staff))
    if "text/csv" in request.headers.get("accept", ""):
        return csv_response(reports.as_csv(result), "retention-report.csv")
    return JSONResponse(reports.as_dict(result))
