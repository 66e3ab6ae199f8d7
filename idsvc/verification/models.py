"""Verification events: who checked a card, when, with what verdict; kept 30 days."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class VerificationEvent(SQLModel, table=True):
    __tablename__ = "verification_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    partner_id: int = Field(foreign_key="partners.id", index=True)
    key_id: int | None = Field(default=None, foreign_key="partner_keys.id")
    method: str = Field(max_length=8)
    result: str = Field(max_length=16)
    # A keyed hash of the card number: the resident's own pages can find their events,
    # nobody reading the table can name the card.
    card_ref: str | None = Field(default=None, max_length=32, index=True)
