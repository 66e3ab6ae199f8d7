"""The data-minimisation report as the API returns it (counts only, no one named)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class RetentionPolicy(BaseModel):
    shred_after_expired_years: int
    purge_applications_after_days: int
    verification_retention_days: int


class RetentionLine(BaseModel):
    group: str
    category: str
    age: str
    count: int
    oldest: date | None
    holds: str


class RetentionReportPublic(BaseModel):
    generated_at: datetime
    policy: RetentionPolicy
    lines: list[RetentionLine]
