"""The enrollment policy file: document points and card rules, validated at start-up.

A mistake in a city's policy file must stop the service from starting, not
surface later as a resident wrongly refused at the desk.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class Category(StrEnum):
    IDENTITY = "identity"
    RESIDENCY = "residency"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentType(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name: str = Field(min_length=1, max_length=120)
    category: Category
    points: int = Field(ge=1, le=10)
    has_photo: bool = False
    has_birth_date: bool = False


class AgeRules(_Strict):
    minimum: int = Field(default=10, ge=0, le=120)
    caretaker_until: int = Field(default=13, ge=0, le=21)


class PointRules(_Strict):
    total: int = Field(default=4, ge=1)
    identity: int = Field(default=3, ge=0)
    residency: int = Field(default=1, ge=0)


class ValidityRules(_Strict):
    years: int = Field(default=5, ge=1, le=20)
    minor_years: int = Field(default=2, ge=1, le=20)
    never_expires_from_age: int = Field(default=0, ge=0, le=130)


class RenewalRules(_Strict):
    days_before_expiry: int = Field(default=60, ge=0, le=365)
    days_after_expiry: int = Field(default=183, ge=0, le=3650)
    # Online renewal (idsvc.residents.renewal) reuses the photo on file up to this age.
    photo_max_age_years: int = Field(default=10, ge=1, le=50)
    # A renewal fee is paid at a service centre: any fee turns online renewal off.
    fee_cents: int = Field(default=0, ge=0, le=100_000)


class Policy(_Strict):
    age: AgeRules = AgeRules()
    points: PointRules = PointRules()
    validity: ValidityRules = ValidityRules()
    renewal: RenewalRules = RenewalRules()
    documents: tuple[DocumentType, ...]

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        codes = [d.code for d in self.documents]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"document codes appear twice: {duplicates}")
        if self.points.identity + self.points.residency > self.points.total:
            raise ValueError("identity + residency minimums exceed the total required")
        for category in Category:
            if not any(d.category == category for d in self.documents):
                raise ValueError(f"no {category} document type is listed")
        if not any(d.has_photo for d in self.documents):
            raise ValueError("no document type carries a photo")
        if not any(d.has_birth_date for d in self.documents):
            raise ValueError("no document type carries a date of birth")
        if self.age.caretaker_until and self.age.caretaker_until < self.age.minimum:
            raise ValueError("age.caretaker_until is below age.minimum")
        return self

    def document(self, code: str) -> DocumentType | None:
        return next((d for d in self.documents if d.code == code), None)


class PolicyError(RuntimeError):
    """The policy file cannot be read or breaks a rule; the message says where."""


def parse_policy(text: str, *, source: str) -> Policy:
    try:
        return Policy.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}" for e in exc.errors()
        )
        raise PolicyError(f"{source}: {problems}") from exc


@lru_cache(maxsize=8)
def load_policy(path: Path | None = None) -> Policy:
    """The city's policy file, or the defaults shipped with idsvc."""
    if path is None:
        text = files("idsvc.enrollment").joinpath("default_policy.toml").read_text("utf-8")
        return parse_policy(text, source="default_policy.toml")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise PolicyError(f"Cannot read the policy file {path}: {exc}") from exc
    return parse_policy(text, source=str(path))
