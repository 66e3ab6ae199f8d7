"""API shapes of cards (staff view)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from idsvc.cards.lifecycle import ReplaceReason
from idsvc.residents.schemas import Address, Caretaker, EmergencyContact, PersonalDataChanges


class CardStaffView(BaseModel):
    """What an enrollment clerk sees of a card and its holder; every read is audited."""

    card_number: str
    version: int
    state: str
    issued_at: datetime
    expires_at: date | None
    kid: str
    qr_has_photo: bool
    status_list: int
    status_index: int
    full_name: str
    given_name: str
    middle_name: str | None
    family_name: str
    date_of_birth: date
    gender: str
    address: Address
    preferred_languages: list[str]
    emergency_contact: EmergencyContact | None
    caretaker: Caretaker | None
    veteran: bool
    organ_donor: bool


class CardQR(BaseModel):
    card_number: str
    version: int
    qr: str


class SuspendReason(StrEnum):
    REPORTED_LOST = "reported_lost"
    REPORTED_STOLEN = "reported_stolen"
    INVESTIGATION = "investigation"
    RESIDENT_REQUEST = "resident_request"
    NOT_ACTIVATED = "not_activated"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RevokeRequest(_Strict):
    reason: Literal["lost", "stolen", "damaged", "deceased", "fraud", "clerical_error"]


class SuspendRequest(_Strict):
    reason: SuspendReason


class FeeRequest(_Strict):
    fee_cents: int = Field(default=0, ge=0, le=100_000)
    fee_waived: bool = Field(default=False, description="A hardship waiver was granted.")


class ReplaceRequest(FeeRequest):
    reason: ReplaceReason


class ReissueRequest(_Strict):
    changes: PersonalDataChanges


class ActivateCardRequest(_Strict):
    card_number: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=32, description="From the card's mailer.")


class CardStateView(BaseModel):
    card_number: str
    version: int
    state: str
    state_reason: str | None
    issue_reason: str
    issued_at: datetime
    expires_at: date | None
