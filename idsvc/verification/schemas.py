"""The verification contract (DESIGN §6): partners integrate against these shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qr: str | None = Field(default=None, min_length=1, max_length=4096)
    card_number: str | None = Field(default=None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.qr is None) == (self.card_number is None):
            raise ValueError("send exactly one of `qr` or `card_number`")
        return self


# `status_unknown` is an offline verdict only: online, the lists are always at hand.
OnlineResult = Literal["valid", "expired", "revoked", "suspended", "not_found", "invalid"]


class VerifyResponse(BaseModel):
    result: OnlineResult
    checked_at: datetime
    card: dict[str, Any] | None = Field(
        default=None, description="Present only for valid, expired and suspended cards, "
                                  "with only the fields the partner's scope allows.")
