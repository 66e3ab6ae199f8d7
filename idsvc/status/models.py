"""Status lists (IETF Token Status List): 2 bits per card, read by verifiers."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class StatusList(SQLModel, table=True):
    __tablename__ = "status_lists"

    id: int | None = Field(default=None, primary_key=True)
    size: int
    allocated: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)


class StatusEntry(SQLModel, table=True):
    """One allocated slot of a list; slots never allocated read as VALID (0) but match no card."""

    __tablename__ = "status_entries"

    list_id: int = Field(foreign_key="status_lists.id", primary_key=True)
    idx: int = Field(primary_key=True)
    status: int = Field(default=0)
