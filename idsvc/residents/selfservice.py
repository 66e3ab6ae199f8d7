"""What residents see and do for themselves: their card, benefits, history, a lost card.

Everything here is keyed by the resident's own record; a resident can reach no
other resident's data, because nothing takes a card number or id from the request
once logged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.benefits import service as benefits
from idsvc.cards import lifecycle
from idsvc.cards import service as cards
from idsvc.cards.models import Card
from idsvc.clock import local_date, utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.pseudonym import card_reference
from idsvc.errors import NotFound
from idsvc.partners.models import Partner
from idsvc.residents import service as residents
from idsvc.residents.accounts import end_sessions
from idsvc.residents.schemas import AddressKind
from idsvc.verification.models import VerificationEvent


def resident_for_card(session: Session, number: str) -> str | None:
    try:
        return cards.find_card(session, number).resident_id
    except NotFound:
        return None


def my_card(session: Session, resident_id: str) -> Card:
    card = cards.latest_card_of(session, resident_id)
    if card is None:
        raise NotFound("You have no card yet.", code="card_not_found")
    return card


def _card_ref(session: Session, resident_id: str, keys: MasterKey) -> str:
    return card_reference(keys.pseudonym_key, my_card(session, resident_id).number)


def my_benefits(session: Session, *, resident_id: str, keys: MasterKey,
                timezone: str) -> list[benefits.Standing]:
    person = residents.read_personal_data(residents.get_resident(session, resident_id), keys)
    street = (person.address.one_line() if person.address.kind == AddressKind.STREET
              else None)
    return benefits.standings(session, card_ref=_card_ref(session, resident_id, keys),
                              born=person.date_of_birth, street_address=street,
                              key=keys.pseudonym_key, today=local_date(utcnow(), timezone))


def my_redemptions(session: Session, *, resident_id: str, keys: MasterKey
                   ) -> list[tuple[benefits.Redemption, str, str]]:
    return benefits.redemptions_of(session, _card_ref(session, resident_id, keys))


@dataclass(frozen=True)
class Check:
    """One time a partner checked the resident's card."""

    at: datetime
    partner: str
    partner_kind: str
    method: str
    result: str


def my_verifications(session: Session, *, resident_id: str, keys: MasterKey) -> list[Check]:
    ref = _card_ref(session, resident_id, keys)
    statement = (select(VerificationEvent, Partner.name, Partner.kind).join(Partner)
                 .where(VerificationEvent.card_ref == ref)
                 .order_by(VerificationEvent.at.desc()))  # type: ignore[attr-defined]
    return [Check(event.at, name, kind, event.method, event.result)
            for event, name, kind in session.exec(statement)]


def report_lost(session: Session, *, resident_id: str, reason: str) -> Card:
    """The card stops verifying at once (suspended); a clerk completes the replacement.
    With a renewal in the post, that is the card in hand: the new one still needs its code."""
    card = cards.card_in_hand(session, my_card(session, resident_id).number, for_update=True)
    suspended = lifecycle.suspend(session, card=card, reason=f"reported_{reason}",
                                  actor=Actor("resident", resident_id))
    end_sessions(session, resident_id=resident_id)  # whoever holds the card may know the PIN
    return suspended


def update_profile(session: Session, *, resident_id: str, changes: dict[str, object],
                   keys: MasterKey) -> None:
    resident = residents.get_resident(session, resident_id)
    current = residents.read_personal_data(resident, keys)
    residents.update_personal_data(session, resident=resident,
                                   data=residents.apply_changes(current, changes), keys=keys)
    record(session, actor=Actor("resident", resident_id), action="resident.update",
           subject_type="resident", subject_id=resident_id, details={"fields": sorted(changes)})
