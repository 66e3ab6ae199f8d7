"""A resident's record: everything personal is sealed under the resident's own data key."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class Resident(SQLModel, table=True):
    __tablename__ = "residents"

    id: str = Field(primary_key=True, max_length=32)
    # HMAC of normalised name + date of birth: finds possible duplicates, reveals nothing.
    match_key: str = Field(max_length=64, index=True)
    wrapped_key: bytes = Field(description="The resident's data key, sealed by the master key.")
    personal_data: bytes = Field(description="Sealed JSON of PersonalData.")
    photo: bytes | None = Field(default=None, description="Sealed portrait JPEG.")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ResidentAccount(SQLModel, table=True):
    """A resident's login: the card number finds it, a PIN or passphrase opens it."""

    __tablename__ = "resident_accounts"

    resident_id: str = Field(primary_key=True, foreign_key="residents.id", max_length=32)
    secret_hash: str | None = Field(default=None, max_length=255)
    activation_hash: str | None = Field(default=None, max_length=64)
    activation_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ResidentSession(SQLModel, table=True):
    __tablename__ = "resident_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    resident_id: str = Field(foreign_key="residents.id", index=True, max_length=32)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # Page cookies also end after a quiet spell (IDSVC_PAGE_IDLE_MINUTES).
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
