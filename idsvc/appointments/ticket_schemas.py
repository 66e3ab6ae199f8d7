"""API shapes of the walk-in queue: tickets carry a label and a language, never a name."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from idsvc.appointments.schemas import DbId, Language, Strict

Desk = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$",
                            description='Where the ticket is called to, e.g. "Desk 3".')]


class WalkInCreate(Strict):
    language: Language


class CheckIn(Strict):
    appointment_id: DbId


class CallNext(Strict):
    desk: Desk


class Recall(Strict):
    desk: Desk | None = None


class Finish(Strict):
    outcome: Literal["served", "no_show", "cancelled"] = Field(
        description="served or no_show once called; cancelled while still waiting")


class TicketPublic(BaseModel):
    id: int
    label: str
    kind: Literal["walk_in", "appointment"]
    language: str
    state: str
    appointment_id: int | None
    issued_at: datetime
    due_at: datetime
    called_at: datetime | None
    desk: str | None
    finished_at: datetime | None


class QueueView(BaseModel):
    day: date
    tickets: list[TicketPublic] = Field(description="Today's waiting and called tickets.")
