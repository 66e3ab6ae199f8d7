"""Applications for a card and the documents the clerk examined for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class Application(SQLModel, table=True):
    __tablename__ = "applications"

    id: str = Field(primary_key=True, max_length=32)
    resident_id: str = Field(foreign_key="residents.id", index=True, max_length=32)
    centre_id: int | None = Field(default=None, foreign_key="service_centres.id", index=True)
    status: str = Field(max_length=16, index=True)
    possible_duplicate_of: str | None = Field(default=None, foreign_key="residents.id",
                                              max_length=32)
    duplicate_override: bool = False
    created_by: str = Field(foreign_key="staff.id", max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    decided_by: str | None = Field(default=None, foreign_key="staff.id", max_length=32)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_note: bytes | None = Field(
        default=None, description="Rejection reason or override note, sealed: it may name people.")


class DocumentCheck(SQLModel, table=True):
    """A document the clerk looked at: its type only, never a copy or its number.

    The points and what the document shows are copied from the policy when it is
    checked, so a later policy change does not rewrite past decisions.
    """

    __tablename__ = "document_checks"
    __table_args__ = (UniqueConstraint("application_id", "document_type",
                                       name="uq_document_checks_application_type"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(foreign_key="applications.id", index=True, max_length=32)
    document_type: str = Field(max_length=40)
    category: str = Field(max_length=16)
    points: int
    has_photo: bool = False
    has_birth_date: bool = False
    checked_by: str = Field(foreign_key="staff.id", max_length=32)
    checked_at: datetime = Field(sa_type=UTCDateTime)
