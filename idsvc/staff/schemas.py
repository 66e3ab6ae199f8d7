"""API shapes of staff accounts and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from idsvc.staff.roles import Role

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=12, max_length=256)
    role: Role
    centre_id: int | None = None


class StaffPublic(BaseModel):
    id: str
    username: str
    role: Role
    centre_id: int | None
    active: bool
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
