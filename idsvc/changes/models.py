"""The change feed: an append-only log that tells every worker what changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class Change(SQLModel, table=True):
    __tablename__ = "changes"
    # Ids must never be reused after a purge: readers remember the last one they saw.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    topic: str = Field(max_length=16)
    ref: str = Field(max_length=64, description="What changed: 'list:idx', a kid, a key id.")
    value: int = 0
    at: datetime = Field(sa_type=UTCDateTime, index=True)
