"""Issued cards. A card number keeps its digits for life; each reissue is a new version."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime

IN_USE = "state NOT IN ('revoked', 'mailed')"


class Card(SQLModel, table=True):
    __tablename__ = "cards"
    __table_args__ = (
        UniqueConstraint("number", "version", name="uq_cards_number_version"),
        UniqueConstraint("status_list_id", "status_idx", name="uq_cards_status_slot"),
        # At most one version of a number is in use: the one in the holder's hands. A
        # mailed version (not yet activated) is left out, so a renewal in the post and the
        # old card it replaces can both exist until the resident activates the new one.
        Index("uq_cards_number_in_use", "number", unique=True,
              postgresql_where=text(IN_USE),
              sqlite_where=text(IN_USE)),
    )

    id: str = Field(primary_key=True, max_length=32)
    number: str = Field(max_length=12, index=True)
    version: int
    resident_id: str = Field(foreign_key="residents.id", index=True, max_length=32)
    # Set on the card an approval issued (version 1) only: one card per application.
    application_id: str | None = Field(default=None, foreign_key="applications.id",
                                       max_length=32, unique=True)
    state: str = Field(max_length=16, index=True)
    state_reason: str | None = Field(default=None, max_length=32)
    state_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    issued_at: datetime = Field(sa_type=UTCDateTime, index=True)  # reports by issue week
    expires_on: date | None = None
    status_list_id: int = Field(foreign_key="status_lists.id")
    status_idx: int
    kid: str = Field(foreign_key="signing_keys.kid", max_length=64, index=True)
    qr_has_photo: bool = True
    credential: bytes = Field(description="The QR text, sealed under the resident's key.")
    issued_by: str | None = Field(default=None, foreign_key="staff.id", max_length=32)
    issue_reason: str = Field(default="new", max_length=16)
    fee_cents: int | None = None
    fee_waived: bool = False
    centre_id: int | None = Field(default=None, foreign_key="service_centres.id", index=True)
    # How the card reaches its holder: "desk" (handed over) or "mail" (idsvc.cards.mailing).
    delivery: str = Field(default="desk", max_length=8)
    mailed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # SHA-256 of the one-time code printed on the mailer; cleared once used.
    activation_hash: str | None = Field(default=None, max_length=64)
    activation_failures: int = 0
    activation_locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
