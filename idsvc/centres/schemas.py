"""API shapes of service centres."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CentreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=500)


class CentrePublic(BaseModel):
    id: int
    code: str
    name: str
    address: str
