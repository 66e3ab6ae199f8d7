"""Service centres, where clerks enroll residents and hand out cards."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class ServiceCentre(SQLModel, table=True):
    __tablename__ = "service_centres"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
