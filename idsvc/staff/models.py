"""Staff accounts and their login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: str = Field(primary_key=True, max_length=32)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    centre_id: int | None = Field(default=None, foreign_key="service_centres.id")
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Login back-off (idsvc.abuse): failures in a row, and until when logins are refused.
    failed_logins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSession(SQLModel, table=True):
    """A bearer token or page cookie; only its SHA-256 is stored."""

    __tablename__ = "staff_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(foreign_key="staff.id", index=True, max_length=32)
    kind: str = Field(max_length=8)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # Page cookies also end after a quiet spell (IDSVC_PAGE_IDLE_MINUTES).
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
