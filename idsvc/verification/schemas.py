"""The verification contract (DESIGN §6): partners integrate against these shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from idsvc.verification.checker import Result


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qr: str | None = Field(default=None, min_length=1, max_length=4096)
    card_number: str | None = Field(default=None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.qr is None) == (self.card_number is None):
            raise ValueError("send exactly one of `qr` or `card_number`")
        return self


class VerifyResponse(BaseModel):
    result: Result
    checked_at: datetime
    card: dict[str, Any] | None = Field(
        default=None, description="Only for valid, expired and suspended cards; only the "
                                  "fields the partner's scope allows.")
