"""The audit log table: one row per staff read or change, linked by hashes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_type: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=64, index=True)
    action: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=32)
    subject_id: str = Field(max_length=64, index=True)
    details: str = Field(default="{}", description="JSON; never personal data.")
    # Unique: two writers can never both extend the same link, so the chain cannot fork.
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)
