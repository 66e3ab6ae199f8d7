"""Public halves of the signing keys and their state; private keys live only in keys/."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class SigningKey(SQLModel, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    public_jwk: str = Field(description="JSON of the public JWK (kty, crv, x, y).")
    state: str = Field(max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    state_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
