"""What idsvc knows about a person, and nothing more.

It never asks for immigration status, citizenship, nationality, country of birth,
visa or social security number: no field holds them, and every model forbids
unknown fields, so such data is refused rather than stored.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from idsvc.clock import age_on
from idsvc.languages import LANGUAGES
from idsvc.text import Text, clean_text


def _has_a_letter(value: str) -> str:
    """A name must show something: refuse names made only of marks, digits or joiners."""
    if value and not any(unicodedata.category(ch).startswith("L") for ch in value):
        raise ValueError("must contain at least one letter")
    return value


Name = Annotated[str, Field(max_length=100), AfterValidator(clean_text),
                 AfterValidator(_has_a_letter)]
Phone = Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 ().-]{5,31}$")]


STORED = {"stored": True}


def _stored(info: ValidationInfo) -> bool:
    """Rules that depend on today or on a list that may change check new input only.

    A record accepted once must stay readable: validate stored JSON with context=STORED.
    """
    return bool(info.context and info.context.get("stored"))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Gender(StrEnum):
    FEMALE = "F"
    MALE = "M"
    X = "X"
    NOT_SHOWN = "U"


class NameOrder(StrEnum):
    GIVEN_FIRST = "given_first"
    FAMILY_FIRST = "family_first"


class AddressKind(StrEnum):
    STREET = "street"
    CARE_OF = "care_of"  # shelter or service provider: never printed, never in the QR


class Address(Strict):
    kind: AddressKind = AddressKind.STREET
    care_of: Annotated[Text, Field(max_length=200)] | None = Field(
        default=None, description="Shelter or provider name, for care-of addresses.")
    line1: Annotated[Text, Field(min_length=1, max_length=200)]
    line2: Annotated[Text, Field(max_length=200)] | None = None
    city: Annotated[Text, Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(min_length=3, max_length=12,
                                      pattern=r"^[A-Za-z0-9 -]+$")]

    @model_validator(mode="after")
    def _care_of_named(self) -> Self:
        if self.kind == AddressKind.CARE_OF and not self.care_of:
            raise ValueError("a care-of address names the shelter or provider in `care_of`")
        return self

    def one_line(self) -> str:
        parts = [self.line1, self.line2, f"{self.city} {self.postal_code}"]
        return ", ".join(p for p in parts if p)


class EmergencyContact(Strict):
    name: Name = Field(min_length=1)
    relationship: Annotated[Text, Field(max_length=50)] | None = None
    phone: Phone

    def one_line(self) -> str:
        relation = f" ({self.relationship})" if self.relationship else ""
        return f"{self.name}{relation} {self.phone}"


class Caretaker(Strict):
    """The adult who enrolls a child aged 10 to 13, identified by a card or a checked document."""

    name: Name = Field(min_length=1)
    relationship: Annotated[Text, Field(min_length=1, max_length=50)]
    card_number: Annotated[str, Field(pattern=r"^[0-9 ]{12,15}$")] | None = None
    document_type: Annotated[str, Field(max_length=40)] | None = None


class Contact(Strict):
    email: Annotated[str, Field(max_length=254,
                                pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Phone | None = None


class PersonalData(Strict):
    """The sealed part of a resident's record."""

    given_name: Name = Field(min_length=1)
    middle_name: Name | None = None
    family_name: Name = Field(default="", description="Empty for people with one name.")
    name_order: NameOrder = NameOrder.GIVEN_FIRST
    date_of_birth: date
    gender: Gender = Gender.NOT_SHOWN
    address: Address
    preferred_languages: list[str] = Field(default_factory=list, max_length=2)
    emergency_contact: EmergencyContact | None = None
    veteran: bool = False
    organ_donor: bool = False
    caretaker: Caretaker | None = None
    contact: Contact | None = None

    @field_validator("preferred_languages")
    @classmethod
    def _known_languages(cls, codes: list[str], info: ValidationInfo) -> list[str]:
        if _stored(info):
            return codes
        if any(c not in LANGUAGES for c in codes):
            raise ValueError("unknown language code; use ISO 639-3 codes such as "
                             "'eng', 'spa', 'ase' (GET /api/v1/languages lists them)")
        if len(set(codes)) != len(codes):
            raise ValueError("languages must not repeat")
        return codes

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth_date(cls, value: date, info: ValidationInfo) -> date:
        if _stored(info):
            return value
        if value > date.today():
            raise ValueError("date of birth is in the future")
        if value.year < date.today().year - 130:
            raise ValueError("date of birth is too far in the past")
        return value

    @property
    def full_name(self) -> str:
        given = " ".join(p for p in (self.given_name, self.middle_name) if p)
        parts = ([self.family_name, given] if self.name_order == NameOrder.FAMILY_FIRST
                 else [given, self.family_name])
        return " ".join(p for p in parts if p)

    def age_on(self, day: date) -> int:
        return age_on(self.date_of_birth, day)


class PersonalDataChanges(Strict):
    """Fields to change on a record (a new name, a move); those left out stay as they are."""

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, data: object) -> object:
        if isinstance(data, dict):
            nulled = sorted(k for k in _REQUIRED if k in data and data[k] is None)
            if nulled:
                raise ValueError(f"these fields cannot be removed: {', '.join(nulled)}")
        return data

    given_name: Name | None = Field(default=None, min_length=1)
    middle_name: Name | None = None
    family_name: Name | None = None
    name_order: NameOrder | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    address: Address | None = None
    preferred_languages: list[str] | None = Field(default=None, max_length=2)
    emergency_contact: EmergencyContact | None = None
    veteran: bool | None = None
    organ_donor: bool | None = None
    contact: Contact | None = None


# Fields every record has; a change may replace them but not set them to null.
_REQUIRED = frozenset({"given_name", "name_order", "date_of_birth", "gender", "address",
                       "preferred_languages", "veteran", "organ_donor", "family_name"})


class ActivateRequest(Strict):
    card_number: Annotated[str, Field(min_length=12, max_length=20)]
    code: Annotated[str, Field(min_length=10, max_length=20)]
    secret: Annotated[str, Field(min_length=6, max_length=256,
                                 description="A PIN of 6+ digits or a passphrase.")]


class LoginRequest(Strict):
    card_number: Annotated[str, Field(min_length=12, max_length=20)]
    secret: Annotated[str, Field(min_length=1, max_length=256)]


class ResidentToken(BaseModel):
    access_token: str
    token_type: str = "bearer"


class ReportLost(Strict):
    reason: Literal["lost", "stolen"]


class ResidentChanges(Strict):
    """What residents change themselves; names and addresses change at a service centre."""

    preferred_languages: list[str] | None = Field(default=None, max_length=2)
    contact: Contact | None = None
    emergency_contact: EmergencyContact | None = None

    @field_validator("preferred_languages")
    @classmethod
    def _known(cls, codes: list[str] | None) -> list[str] | None:
        if codes is not None and any(c not in LANGUAGES for c in codes):
            raise ValueError("unknown language code (GET /api/v1/languages lists them)")
        return codes


class RenewRequest(Strict):
    unchanged: bool = Field(description="The resident confirms that the name and address "
                                        "shown by GET /api/v1/me/renewal are unchanged.")


class RenewalOffer(BaseModel):
    """Whether online renewal is offered now, and the data the resident must confirm."""

    card_number: str
    version: int
    offered: bool
    refusal: str | None = Field(description="Why not, as an error code, when not offered.")
    opens: date | None
    closes: date | None
    full_name: str
    address: Address
