"""Calling tickets to a desk: who is next, a recall, and how a call ended.

Order of "call next" (README, Appointments, Walk-in queue):
1. an "A" ticket whose slot starts within `DUE_EARLY` from now (or has started), earliest
   slot first: a booked resident is served at their time, ahead of walk-ins;
2. else the oldest waiting walk-in ticket;
3. else the earliest "A" ticket not due yet: a free desk does not sit idle.

A ticket is called only by one guarded UPDATE (`state = 'called' WHERE state =
'waiting'`) whose row count says whether it worked, as `queue.take_seat` takes a seat: two
clerks pressing "call next" at once never get the same ticket; the one who lost the race
takes the next candidate. Calls that touch an appointment are audited.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, update
from sqlmodel import Session, col, select

from idsvc.appointments.context import Context
from idsvc.appointments.ticket_model import QueueTicket
from idsvc.appointments.tickets import Kind, own_centre
from idsvc.audit.service import record
from idsvc.errors import Conflict, NotFound
from idsvc.staff.models import Staff

DUE_EARLY = timedelta(minutes=5)
_CANDIDATES = 10  # looked at per round; a lost race moves on to the next one
OUTCOMES = {"served": "called", "no_show": "called", "cancelled": "waiting"}  # -> from


def _audit(session: Session, ctx: Context, ticket: QueueTicket, action: str) -> None:
    if ticket.appointment_id is not None:
        record(session, actor=ctx.actor, action=f"appointment.{action}",
               subject_type="appointment", subject_id=str(ticket.appointment_id),
               details={"ticket": ticket.label, "desk": ticket.desk})


def _candidates(session: Session, ctx: Context, centre_id: int) -> list[int]:
    due = (QueueTicket.kind == Kind.APPOINTMENT.value) & (
        col(QueueTicket.due_at) <= ctx.now + DUE_EARLY)
    rank = case((due, 0), (QueueTicket.kind == Kind.WALK_IN.value, 1), else_=2)
    return list(session.exec(select(QueueTicket.id).where(
        QueueTicket.centre_id == centre_id, QueueTicket.day == ctx.today,
        QueueTicket.state == "waiting").order_by(
        rank, case((QueueTicket.kind == Kind.WALK_IN.value, col(QueueTicket.id)), else_=0),
        col(QueueTicket.due_at), col(QueueTicket.id)).limit(_CANDIDATES)))


def _guarded(session: Session, ticket_id: int, from_state: str, **values: object) -> bool:
    changed = session.execute(update(QueueTicket).where(
        col(QueueTicket.id) == ticket_id, col(QueueTicket.state) == from_state)
        .values(**values).execution_options(synchronize_session=False))
    return changed.rowcount == 1  # type: ignore[attr-defined]


def _reloaded(session: Session, ticket_id: int) -> QueueTicket:
    ticket = session.get(QueueTicket, ticket_id, populate_existing=True)
    assert ticket is not None  # just changed in this transaction
    return ticket


def call_next(session: Session, ctx: Context, *, staff: Staff, centre_id: int,
              desk: str) -> QueueTicket:
    """Call the next ticket (see the module docstring) to `desk`."""
    own_centre(staff, centre_id)
    while candidates := _candidates(session, ctx, centre_id):
        for ticket_id in candidates:
            if _guarded(session, ticket_id, "waiting", state="called", called_at=ctx.now,
                        called_by=staff.id, desk=desk):
                ticket = _reloaded(session, ticket_id)
                _audit(session, ctx, ticket, "call")
                return ticket
    raise NotFound("Nobody is waiting.", code="queue_empty")


def _own_ticket(session: Session, centre_id: int, ticket_id: int) -> QueueTicket:
    ticket = session.get(QueueTicket, ticket_id)
    if ticket is None or ticket.centre_id != centre_id:
        raise NotFound("No such ticket at this centre.", code="ticket_not_found")
    return ticket


def recall(session: Session, ctx: Context, *, staff: Staff, centre_id: int, ticket_id: int,
           desk: str | None) -> QueueTicket:
    """Call a called ticket again (to the top of the waiting-room display)."""
    own_centre(staff, centre_id)
    ticket = _own_ticket(session, centre_id, ticket_id)
    if not _guarded(session, ticket_id, "called", called_at=ctx.now, called_by=staff.id,
                    desk=desk or ticket.desk):
        raise Conflict("Only a called ticket can be called again.", code="ticket_not_called")
    ticket = _reloaded(session, ticket_id)
    _audit(session, ctx, ticket, "recall")
    return ticket


def finish(session: Session, ctx: Context, *, staff: Staff, centre_id: int, ticket_id: int,
           outcome: str) -> QueueTicket:
    """End a ticket: served or no-show once called; cancelled while still waiting."""
    own_centre(staff, centre_id)
    _own_ticket(session, centre_id, ticket_id)
    if not _guarded(session, ticket_id, OUTCOMES[outcome], state=outcome,
                    finished_at=ctx.now):
        raise Conflict(f"A ticket becomes {outcome} only while {OUTCOMES[outcome]}.",
                       code=f"ticket_not_{OUTCOMES[outcome]}")
    ticket = _reloaded(session, ticket_id)
    _audit(session, ctx, ticket, outcome)
    return ticket
