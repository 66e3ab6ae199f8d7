"""API shapes of applications; input models refuse unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from idsvc.enrollment.policy import Category
from idsvc.residents.schemas import PersonalData


class ApplicationCreate(PersonalData):
    """The applicant's details (DESIGN §7), plus where the application is taken."""

    centre_id: int | None = Field(default=None, description="Defaults to the clerk's centre.")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DocumentCheckCreate(_Strict):
    document_type: str = Field(min_length=1, max_length=40)


class ApproveRequest(_Strict):
    override_duplicate: bool = Field(
        default=False, description="Supervisor only: the warning was checked, not the same person.")
    note: str | None = Field(default=None, max_length=500)
    delivery: Literal["desk", "mail"] = Field(
        default="desk", description="mail: the card is posted and verifies as suspended "
                                    "until its holder activates it (street addresses only).")


class RejectRequest(_Strict):
    reason: str = Field(min_length=1, max_length=500)


class DocumentTypePublic(BaseModel):
    code: str
    name: str
    category: Category
    points: int
    has_photo: bool
    has_birth_date: bool


class DocumentCheckPublic(BaseModel):
    id: int
    document_type: str
    category: str
    points: int
    checked_at: datetime


class MissingPublic(BaseModel):
    code: str
    message: str


class PossibleDuplicate(BaseModel):
    resident_id: str
    card_numbers: list[str]
    pending_application_ids: list[str]


class ApplicationPublic(BaseModel):
    id: str
    status: str
    centre_id: int | None
    created_at: datetime
    age: int
    documents: list[DocumentCheckPublic]
    points: dict[str, int]
    has_photo: bool
    possible_duplicate: PossibleDuplicate | None
    missing: list[MissingPublic]
    card_number: str | None = None


class IssuedCard(BaseModel):
    card_number: str
    version: int
    state: str = Field(description="active, or mailed (not valid until activated).")
    issued_at: datetime
    expires_at: date | None
    qr_has_photo: bool
    application_id: str


class LanguagePublic(BaseModel):
    code: str
    name: str
