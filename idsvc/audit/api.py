"""The auditors' export of the audit log: a date range, streamed as JSON lines or CSV.

The export is recorded (`audit.export`) and committed before the first row is sent, so
a download that is cut off is still on the record; the rows are then read with a session
of their own, a page at a time, because the request's session has closed by then.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.responses import StreamingResponse

from idsvc.audit import service
from idsvc.audit.service import ExportFormat, ExportRange
from idsvc.db import SessionDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

router = APIRouter(tags=["audit"])
AuditReader = Annotated[Staff, Depends(require(Permission.READ_AUDIT))]
MEDIA_TYPES = {ExportFormat.JSONL: "application/x-ndjson", ExportFormat.CSV: "text/csv"}
_ROW_SCHEMA = {"type": "string"}


def _stream(sessions: sessionmaker[Session], span: ExportRange, upto_id: int,
            fmt: ExportFormat) -> Iterator[str]:
    with sessions() as session:
        yield from service.export_lines(
            service.export_rows(session, span=span, upto_id=upto_id), fmt)


@router.get("/audit/events", response_class=StreamingResponse, responses={200: {
    "description": "One event per line (JSON lines), or CSV with `Accept: text/csv`.",
    "content": {media: {"schema": _ROW_SCHEMA} for media in MEDIA_TYPES.values()}}})
def export(request: Request, session: SessionDep, auditor: AuditReader,
           since: Annotated[date, Query(alias="from")],
           until: Annotated[date, Query(alias="to")]) -> StreamingResponse:
    """The audit events recorded from `from` to `to` (UTC days, both included) in chain
    order, each with its `hash` and `prev_hash`, so the recipient can check the stretch.
    The export itself is audited, and ends with its own event when the range reaches it."""
    fmt = ExportFormat.CSV if "text/csv" in request.headers.get("accept", "") \
        else ExportFormat.JSONL
    span = ExportRange.of(since, until)
    mark = service.record_export(session, actor=actor_of(auditor), span=span, fmt=fmt)
    assert mark.id is not None
    filename = f"audit-{since.isoformat()}-{until.isoformat()}.{fmt.value}"
    media = MEDIA_TYPES[fmt]
    return StreamingResponse(
        _stream(request.app.state.read_sessionmaker, span, mark.id, fmt),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"})
