"""Resident records: create, read and change, always through the resident's data key."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError
from sqlmodel import Session, select

from idsvc.clock import utcnow
from idsvc.crypto.blind_index import person_match_key
from idsvc.crypto.envelope import MasterKey, open_sealed, seal
from idsvc.errors import Invalid, NotFound
from idsvc.residents.models import Resident
from idsvc.residents.schemas import STORED, PersonalData
from idsvc.rows import Columns

# Residents' rows for bulk work (idsvc.rows): an import stores thousands per batch.
RESIDENT_ROWS = Columns(Resident, skip=())


def match_key_for(keys: MasterKey, data: PersonalData) -> str:
    return person_match_key(keys.blind_index_key, given_name=data.given_name,
                            family_name=data.family_name, date_of_birth=data.date_of_birth)


def _aad(resident_id: str, field: str) -> bytes:
    return f"resident:{resident_id}:{field}".encode()


@dataclass(frozen=True)
class SealedRecord:
    """A new resident's record, sealed under a new data key: the key is kept to seal the
    rest of what is issued with the record (photo, card credential)."""

    resident_id: str
    match_key: str
    wrapped_key: bytes
    personal_data: bytes
    data_key: bytes = field(repr=False)

    def seal(self, field: str, data: bytes) -> bytes:
        """`seal_for` on this record, without unwrapping its key again."""
        return seal(self.data_key, data, aad=_aad(self.resident_id, field))


def seal_record(*, data: PersonalData, keys: MasterKey, resident_id: str) -> SealedRecord:
    data_key, wrapped = keys.new_data_key(owner=resident_id)
    return SealedRecord(resident_id, match_key_for(keys, data), wrapped,
                        seal(data_key, data.model_dump_json().encode(),
                             aad=_aad(resident_id, "personal_data")), data_key)


def create_resident(session: Session, *, data: PersonalData, keys: MasterKey) -> Resident:
    record = seal_record(data=data, keys=keys, resident_id=uuid.uuid4().hex)
    now = utcnow()
    resident = Resident(id=record.resident_id, match_key=record.match_key,
                        wrapped_key=record.wrapped_key, personal_data=record.personal_data,
                        created_at=now, updated_at=now)
    session.add(resident)
    session.flush()
    return resident


def apply_changes(current: PersonalData, changes: dict[str, object]) -> PersonalData:
    """The record with `changes` applied, validated as new input (422 on a bad result)."""
    try:
        return PersonalData.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "record" for e in exc.errors()})
        raise Invalid("The changes leave the record invalid: " + ", ".join(fields),
                      code="invalid_changes") from exc


def update_personal_data(session: Session, *, resident: Resident, data: PersonalData,
                         keys: MasterKey) -> None:
    """Re-seal the record and refresh its duplicate-check tag (names may have changed)."""
    resident.personal_data = seal_for(resident, keys, field="personal_data",
                                      data=data.model_dump_json().encode())
    resident.match_key = match_key_for(keys, data)
    resident.updated_at = utcnow()
    session.add(resident)
    session.flush()


def get_resident(session: Session, resident_id: str) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("No such resident.", code="resident_not_found")
    return resident


def data_key_of(resident: Resident, keys: MasterKey) -> bytes:
    if not resident.wrapped_key:  # crypto-shredded (idsvc.retention): gone for good
        raise NotFound("This resident's personal data was destroyed.",
                       code="personal_data_destroyed")
    return keys.unwrap(resident.wrapped_key, owner=resident.id)


def read_personal_data(resident: Resident, keys: MasterKey) -> PersonalData:
    plain = open_for(resident, keys, field="personal_data", sealed=resident.personal_data)
    return PersonalData.model_validate_json(plain, context=STORED)


PHOTO_FIELD = "photo"


def set_photo(resident: Resident, *, portrait_jpeg: bytes, keys: MasterKey) -> None:
    resident.photo = seal_for(resident, keys, field=PHOTO_FIELD, data=portrait_jpeg)
    resident.updated_at = utcnow()


def read_photo(resident: Resident, keys: MasterKey) -> bytes | None:
    if resident.photo is None:
        return None
    return open_for(resident, keys, field=PHOTO_FIELD, sealed=resident.photo)


def seal_for(resident: Resident, keys: MasterKey, *, field: str, data: bytes) -> bytes:
    """Seal another record's field (a card's credential, a note) under this resident's key."""
    return seal(data_key_of(resident, keys), data, aad=_aad(resident.id, field))


def open_for(resident: Resident, keys: MasterKey, *, field: str, sealed: bytes) -> bytes:
    return open_sealed(data_key_of(resident, keys), sealed, aad=_aad(resident.id, field))


def residents_matching(session: Session, *, match_key: str,
                       exclude_id: str | None = None) -> list[Resident]:
    statement = select(Resident).where(Resident.match_key == match_key)
    if exclude_id is not None:
        statement = statement.where(Resident.id != exclude_id)
    return list(session.exec(statement))


def match_keys_of(session: Session, match_keys: Collection[str]) -> dict[str, str]:
    """resident id -> match key, for every resident with one of `match_keys`."""
    statement = select(Resident.id, Resident.match_key).where(
        Resident.match_key.in_(match_keys))  # type: ignore[attr-defined]
    return dict(session.exec(statement).all())


def residents_named(session: Session, *, keys: MasterKey, given_name: str, family_name: str,
                    date_of_birth: date) -> list[Resident]:
    """Residents whose blind index matches this exact name and birth date (never a prefix)."""
    key = person_match_key(keys.blind_index_key, given_name=given_name,
                           family_name=family_name, date_of_birth=date_of_birth)
    return residents_matching(session, match_key=key)
