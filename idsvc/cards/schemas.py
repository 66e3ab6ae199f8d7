"""API shapes of cards (staff view)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from idsvc.residents.schemas import Address, Caretaker, EmergencyContact


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
