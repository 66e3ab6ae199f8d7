"""The name and contact of an appointment, sealed under the row's own data key."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from idsvc.appointments.models import Appointment
from idsvc.crypto.envelope import MasterKey, open_sealed, seal


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None = None
    phone: str | None = None


def owner_for_code_hash(code_hash: str) -> str:
    """What an appointment's wrapped data key is bound to (also for key rotation). The
    code's hash is known before the row is stored and never changes: one INSERT."""
    return f"appointment:{code_hash}"


def _owner(appointment: Appointment) -> str:
    return owner_for_code_hash(appointment.code_hash)


def seal_person(appointment: Appointment, person: Person, keys: MasterKey) -> None:
    owner = _owner(appointment)
    data_key, appointment.wrapped_key = keys.new_data_key(owner=owner)
    appointment.personal = seal(data_key, json.dumps(asdict(person)).encode(),
                                aad=owner.encode())


def open_person(appointment: Appointment, keys: MasterKey) -> Person | None:
    """None once wiped (cancelled, lapsed)."""
    if not appointment.wrapped_key or appointment.personal is None:
        return None
    owner = _owner(appointment)
    data_key = keys.unwrap(appointment.wrapped_key, owner=owner)
    return Person(**json.loads(open_sealed(data_key, appointment.personal, aad=owner.encode())))


def wipe(appointment: Appointment) -> None:
    """Forget who asked: the row stays only so the code can still say 'cancelled'."""
    appointment.wrapped_key, appointment.personal = b"", None
    appointment.email_key = appointment.phone_key = None
