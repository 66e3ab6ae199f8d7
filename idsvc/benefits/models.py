"""Benefits partners offer, and their redemptions (the bookkeeping of who used what)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class Benefit(SQLModel, table=True):
    __tablename__ = "benefits"

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partners.id", index=True)
    name: str = Field(max_length=200)
    category: str = Field(default="other", max_length=32, index=True)
    description: str = Field(default="", max_length=1000)
    limit_count: int = 1
    limit_period: str = Field(default="lifetime", max_length=16)
    min_age: int | None = None
    max_age: int | None = None
    quota: int | None = None
    redeemed_count: int = 0
    one_per_household: bool = False
    starts_on: date | None = None
    ends_on: date | None = None
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class Redemption(SQLModel, table=True):
    """One use of a benefit by one card, named by pseudonyms only.

    `slot` numbers the uses within a period (1..limit); with the period key it is
    unique among live redemptions, so the database itself refuses a second use of a
    once-only benefit, however many servers race for it.
    """

    __tablename__ = "redemptions"
    __table_args__ = (
        Index("uq_redemptions_live_slot", "benefit_id", "card_ref", "period_key", "slot",
              unique=True, postgresql_where=text("voided_at IS NULL"),
              sqlite_where=text("voided_at IS NULL")),
        Index("uq_redemptions_live_household", "benefit_id", "household_ref", "period_key",
              unique=True,
              postgresql_where=text("voided_at IS NULL AND household_ref IS NOT NULL"),
              sqlite_where=text("voided_at IS NULL AND household_ref IS NOT NULL")),
        UniqueConstraint("partner_id", "idempotency_key", name="uq_redemptions_idempotency"),
    )

    id: int | None = Field(default=None, primary_key=True)
    benefit_id: int = Field(foreign_key="benefits.id", index=True)
    partner_id: int = Field(foreign_key="partners.id", index=True)
    card_ref: str = Field(max_length=32, index=True)
    household_ref: str | None = Field(default=None, max_length=32)
    period_key: str = Field(max_length=16)
    slot: int = 1
    idempotency_key: str = Field(max_length=100)
    request_hash: str = Field(max_length=32, description="What the key was first used for.")
    redeemed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    voided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
