"""The walk-in queue API for a centre's own clerks: `/api/v1/centres/{id}/queue...`.

Changes commit inside the handler (as the appointment routes do, see api.py): a call
holds the ticket's row lock until it commits, and should not wait for a free worker
thread to run the session's teardown first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from idsvc.appointments import calling, tickets
from idsvc.appointments.context import Context
from idsvc.appointments.handlers import context_of
from idsvc.appointments.ticket_model import QueueTicket
from idsvc.appointments.ticket_schemas import (
    CallNext,
    CheckIn,
    Finish,
    QueueView,
    Recall,
    TicketPublic,
    WalkInCreate,
)
from idsvc.db import RowId, SessionDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

router = APIRouter(prefix="/centres/{centre_id}/queue", tags=["walk-in queue"])
Clerk = Annotated[Staff, Depends(require(Permission.ENROLL))]


def desk_context(request: Request, staff: Staff) -> Context:
    return context_of(request, actor_of(staff))


def view(ticket: QueueTicket) -> TicketPublic:
    return TicketPublic.model_validate(ticket, from_attributes=True)


def _done(session: Session, ticket: QueueTicket) -> TicketPublic:
    shown = view(ticket)
    session.commit()
    return shown


@router.get("")
def show_queue(request: Request, session: SessionDep, centre_id: RowId,
               clerk: Clerk) -> QueueView:
    """Today's waiting and called tickets at the clerk's own centre."""
    ctx = desk_context(request, clerk)
    tickets.own_centre(clerk, centre_id)
    return QueueView(day=ctx.today, tickets=[
        view(t) for t in tickets.open_tickets(session, ctx, centre_id=centre_id)])


@router.post("/tickets", status_code=201)
def issue_ticket(request: Request, session: SessionDep, centre_id: RowId, body: WalkInCreate,
                 clerk: Clerk) -> TicketPublic:
    """A numbered walk-in ticket ("W-012") for a resident served in `language`."""
    return _done(session, tickets.issue_walk_in(
        session, desk_context(request, clerk), staff=clerk, centre_id=centre_id,
        language=body.language))


@router.post("/check-ins", status_code=201)
def check_in(request: Request, session: SessionDep, centre_id: RowId, body: CheckIn,
             clerk: Clerk) -> TicketPublic:
    """An "A" ticket for a resident booked here today who has arrived (audited)."""
    return _done(session, tickets.check_in(
        session, desk_context(request, clerk), staff=clerk, centre_id=centre_id,
        appointment_id=body.appointment_id))


@router.post("/call")
def call_next(request: Request, session: SessionDep, centre_id: RowId, body: CallNext,
              clerk: Clerk) -> TicketPublic:
    """Call the next ticket to `desk`: a due appointment first, else the oldest walk-in."""
    return _done(session, calling.call_next(
        session, desk_context(request, clerk), staff=clerk, centre_id=centre_id,
        desk=body.desk))


@router.post("/tickets/{ticket_id}/recall")
def recall(request: Request, session: SessionDep, centre_id: RowId, ticket_id: RowId,
           body: Recall, clerk: Clerk) -> TicketPublic:
    return _done(session, calling.recall(
        session, desk_context(request, clerk), staff=clerk, centre_id=centre_id,
        ticket_id=ticket_id, desk=body.desk))


@router.post("/tickets/{ticket_id}/finish")
def finish(request: Request, session: SessionDep, centre_id: RowId, ticket_id: RowId,
           body: Finish, clerk: Clerk) -> TicketPublic:
    return _done(session, calling.finish(
        session, desk_context(request, clerk), staff=clerk, centre_id=centre_id,
        ticket_id=ticket_id, outcome=body.outcome))
