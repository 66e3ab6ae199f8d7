"""Partner institutions and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class Partner(SQLModel, table=True):
    __tablename__ = "partners"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)
    # JSON list of fields when an administrator narrowed the kind's default scope.
    scope: str | None = None
    rate_limit_per_minute: int = 600
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class PartnerKey(SQLModel, table=True):
    """An API key: only a SHA-256 of the secret is kept; the prefix finds the row."""

    __tablename__ = "partner_keys"

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partners.id", index=True)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    label: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PartnerUser(SQLModel, table=True):
    """A person at a partner's desk who scans cards in the browser (no API key needed)."""

    __tablename__ = "partner_users"

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partners.id", index=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Login back-off (idsvc.abuse): failures in a row, and until when logins are refused.
    failed_logins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PartnerSession(SQLModel, table=True):
    """A partner user's page session; only the token's SHA-256 is stored."""

    __tablename__ = "partner_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="partner_users.id", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
