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
