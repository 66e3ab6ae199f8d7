"""API shapes of benefits and redemptions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from idsvc.benefits.models import Benefit, Redemption
from idsvc.benefits.rules import Period
from idsvc.crypto.pseudonym import partner_view
from idsvc.csvfile import csv_text
from idsvc.partners.models import Partner
from idsvc.text import Text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limit(_Strict):
    count: int = Field(default=1, ge=1, le=1000)
    period: Period = Period.LIFETIME


class BenefitCreate(_Strict):
    name: Text = Field(min_length=1, max_length=200)
    category: str = Field(default="other", pattern=r"^[a-z][a-z_]{1,31}$")
    description: Text = Field(default="", max_length=1000)
    limit: Limit = Limit()
    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)
    quota: int | None = Field(default=None, ge=1)
    one_per_household: bool = False
    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is above max_age")
        if self.starts_on and self.ends_on and self.starts_on > self.ends_on:
            raise ValueError("starts_on is after ends_on")
        return self


class BenefitUpdate(_Strict):
    """Fields to change; `ends_on` or `quota` set to null remove the end date or the cap."""

    active: bool | None = None
    ends_on: date | None = None
    quota: int | None = Field(default=None, ge=1)
    description: Text | None = Field(default=None, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, data: object) -> object:
        if isinstance(data, dict) and any(data.get(k, 0) is None
                                          for k in ("active", "description")):
            raise ValueError("`active` and `description` cannot be null")
        return data


class PartnerSummary(BaseModel):
    id: int
    name: str
    kind: str


class BenefitPublic(BaseModel):
    id: int
    partner: PartnerSummary
    name: str
    category: str
    description: str
    limit: Limit
    min_age: int | None
    max_age: int | None
    quota: int | None
    remaining: int | None
    one_per_household: bool
    starts_on: date | None
    ends_on: date | None
    active: bool


class RedemptionCreate(_Strict):
    qr: str | None = Field(default=None, min_length=1, max_length=4096)
    card_number: str | None = Field(default=None, min_length=1, max_length=32)
    benefit_id: int = Field(ge=1, le=2**31 - 1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.qr is None) == (self.card_number is None):
            raise ValueError("send exactly one of `qr` or `card_number`")
        return self


class RedemptionPublic(BaseModel):
    id: int
    benefit_id: int
    benefit_name: str
    redeemed_at: datetime
    voided_at: datetime | None
    card: str = Field(description="A pseudonym of the card, the same for this partner only.")


REDEMPTION_CSV_FIELDS = ("id", "benefit_id", "benefit_name", "redeemed_at", "voided_at",
                         "card")


def benefit_public(benefit: Benefit, partner: Partner) -> BenefitPublic:
    """A benefit as the catalogue shows it (the API's and the page's), with what is left."""
    remaining = None if benefit.quota is None else max(0, benefit.quota - benefit.redeemed_count)
    return BenefitPublic(
        id=benefit.id, partner=PartnerSummary(id=partner.id, name=partner.name,
                                              kind=partner.kind),
        name=benefit.name, category=benefit.category, description=benefit.description,
        limit=Limit(count=benefit.limit_count, period=benefit.limit_period),
        min_age=benefit.min_age, max_age=benefit.max_age, quota=benefit.quota,
        remaining=remaining, one_per_household=benefit.one_per_household,
        starts_on=benefit.starts_on, ends_on=benefit.ends_on, active=benefit.active)


def redemption_public(redemption: Redemption, benefit_name: str,
                      pseudonym_key: bytes) -> RedemptionPublic:
    """A redemption as its partner sees it: the card only as this partner's own pseudonym."""
    return RedemptionPublic(id=redemption.id, benefit_id=redemption.benefit_id,
                            benefit_name=benefit_name, redeemed_at=redemption.redeemed_at,
                            voided_at=redemption.voided_at,
                            card=partner_view(pseudonym_key, redemption.partner_id,
                                              redemption.card_ref))


def redemptions_csv(rows: Iterable[RedemptionPublic]) -> str:
    """A partner's redemption log as CSV: the API's and the desk page's download."""
    return csv_text(REDEMPTION_CSV_FIELDS, (row.model_dump(mode="json") for row in rows))
