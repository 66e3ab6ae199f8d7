"""Numbered queue tickets of a centre's waiting room: walk-ins ("W-012") and checked-in
appointment holders ("A-007"). A ticket carries no name: the waiting-room display shows
only labels and desks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class QueueTicket(SQLModel, table=True):
    __tablename__ = "queue_tickets"
    __table_args__ = (UniqueConstraint("centre_id", "day", "kind", "number",
                                       name="uq_queue_tickets_centre_day_kind_number"),)

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="service_centres.id", index=True)
    day: date = Field(index=True)  # the city's calendar day
    kind: str = Field(max_length=16)  # walk_in, appointment
    number: int  # 1, 2, ... per centre, day and kind
    label: str = Field(max_length=8)  # "W-012", "A-007"
    # Set for an "A" ticket; the purge of past appointments leaves the ticket unlinked.
    appointment_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("appointments.id", ondelete="SET NULL"), unique=True,
        nullable=True))
    language: str = Field(max_length=3)  # ISO 639-3, the language to be served in
    state: str = Field(max_length=16, index=True)  # waiting, called, served, no_show, cancelled
    issued_at: datetime = Field(sa_type=UTCDateTime)
    # When the ticket's turn may come: the slot's start for an "A" ticket (calling.py).
    due_at: datetime = Field(sa_type=UTCDateTime)
    called_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    called_by: str | None = Field(default=None, foreign_key="staff.id", max_length=32)
    desk: str | None = Field(default=None, max_length=40)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
