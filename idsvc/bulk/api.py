"""Print batch routes: make a batch of cards, then download its sheet for the card printer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlmodel import Session

from idsvc.bulk import printing
from idsvc.bulk.models import PrintBatch
from idsvc.bulk.schemas import PrintBatchCreate, PrintBatchPosted, PrintBatchPublic
from idsvc.cards import mailers
from idsvc.cards.mailer import Sender
from idsvc.cards.service import PrintLayout
from idsvc.centres.service import find_centre, get_centre
from idsvc.db import RowId, SessionDep
from idsvc.errors import NotFound
from idsvc.runtime import RuntimeDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission, Role
from idsvc.staff.service import actor_of

router = APIRouter(tags=["printing"])
Printer = Annotated[Staff, Depends(require(Permission.READ_CARDS))]


def _public(session: Session, batch: PrintBatch) -> PrintBatchPublic:
    assert batch.id is not None
    centre = get_centre(session, batch.centre_id) if batch.centre_id is not None else None
    return PrintBatchPublic(
        id=batch.id, centre=centre.code if centre else None,
        status=printing.Selection(batch.selection), created_at=batch.created_at,
        card_count=batch.card_count, printed_at=batch.printed_at,
        card_numbers=[card.number for card in printing.batch_cards(session, batch.id)])


def _batch_for(session: Session, staff: Staff, batch_id: int) -> PrintBatch:
    batch = printing.get_batch(session, batch_id)
    printing.check_may_print(staff, batch.centre_id)
    return batch


def _download(pdf: bytes, filename: str) -> Response:
    """A PDF to save, never cached: it holds names, and mailers hold activation codes."""
    return Response(pdf, media_type="application/pdf",
                    headers={"Cache-Control": "no-store",
                             "Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/print-batches", status_code=201)
def create_batch(session: SessionDep, body: PrintBatchCreate, staff: Printer) -> PrintBatchPublic:
    code = body.centre
    if code is None and staff.role == Role.CLERK and staff.centre_id is not None:
        code = get_centre(session, staff.centre_id).code
    centre = find_centre(session, code=code) if code is not None else None
    if code is not None and centre is None:
        raise NotFound(f"No service centre {code!r}.", code="centre_not_found")
    printing.check_may_print(staff, centre.id if centre else None)
    batch = printing.create_batch(session, centre=centre, selection=body.status,
                                  limit=body.limit, actor=actor_of(staff), created_by=staff.id)
    return _public(session, batch)


@router.get("/print-batches/{batch_id}")
def read_batch(session: SessionDep, batch_id: RowId, staff: Printer) -> PrintBatchPublic:
    return _public(session, _batch_for(session, staff, batch_id))


@router.get("/print-batches/{batch_id}/sheet.pdf", response_class=Response)
def batch_sheet(session: SessionDep, runtime: RuntimeDep, batch_id: RowId,
                staff: Printer) -> Response:
    """The batch as one PDF for a card printer (CR80 pages, duplex: front then back)."""
    sheet = printing.print_sheet(session, batch=_batch_for(session, staff, batch_id),
                                 keys=runtime.master_key,
                                 layout=PrintLayout.from_settings(runtime.settings),
                                 actor=actor_of(staff))
    return _download(sheet.pdf, f"print-batch-{batch_id}.pdf")


@router.post("/print-batches/{batch_id}/mailers", response_class=Response)
def batch_mailers(session: SessionDep, runtime: RuntimeDep, batch_id: RowId,
                  staff: Printer) -> Response:
    """The letters for the batch's mailed cards, with new one-time activation codes (any
    earlier printout of them stops working)."""
    produced = mailers.produce_mailers(session, batch=_batch_for(session, staff, batch_id),
                                       keys=runtime.master_key,
                                       sender=Sender.from_settings(runtime.settings),
                                       actor=actor_of(staff))
    return _download(produced.pdf, f"mailers-{batch_id}.pdf")


@router.post("/print-batches/{batch_id}/posted")
def batch_posted(session: SessionDep, batch_id: RowId, staff: Printer) -> PrintBatchPosted:
    """The batch's mailers went out today: the activation clock of its cards starts."""
    posted = mailers.batch_posted(session, batch=_batch_for(session, staff, batch_id),
                                  actor=actor_of(staff))
    return PrintBatchPosted(id=batch_id, posted=posted)
