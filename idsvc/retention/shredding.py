"""Crypto-shredding: destroy a resident's data key and everything that could name them.

Every personal field of a resident (the record, the photo, the card credentials, the
notes on their applications) is sealed under the resident's own data key. Destroying
the wrapped key makes all of it unreadable for good; the sealed fields are blanked too,
so the live database holds no ciphertext at all. What can still link a card to a person
without decryption goes with it: the duplicate-check tag, the document types examined,
the resident's login and sessions, and the pseudonyms that tie verification events and
redemptions to the card number.

What stays is what aggregate counts and verifiers need: the card rows (number, dates,
centre, status-list slot), revoked, so every card of the resident verifies `revoked`
from then on; approved applications without their note; the redemption and
verification rows, no longer linked to the card. The resident row remains as an empty
tombstone because cards and applications refer to it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import delete, update
from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.benefits.models import Redemption
from idsvc.cards.models import Card
from idsvc.cards.service import CardState
from idsvc.clock import utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.pseudonym import card_reference
from idsvc.enrollment.models import Application, DocumentCheck
from idsvc.enrollment.service import ApplicationStatus
from idsvc.errors import Conflict, NotFound
from idsvc.residents.models import Resident, ResidentAccount, ResidentSession
from idsvc.retention.models import ShredRecord
from idsvc.status.service import Slot, Status, set_status
from idsvc.verification.models import VerificationEvent

SHREDDED = "shredded"  # the state_reason of the cards it revokes


class ShredReason(StrEnum):
    EXPIRED = "expired"                      # the retention policy: cards long expired
    APPLICATION_PURGED = "application_purged"  # rejected or abandoned, never approved
    ERASURE_REQUEST = "erasure_request"      # the resident asked to be forgotten
    DECEASED = "deceased"


@dataclass(frozen=True)
class Shredded:
    """What one shred did, in counts (it is audited the same way)."""

    resident_id: str
    cards: int
    cards_revoked: int
    applications_deleted: int


def is_shredded(resident: Resident) -> bool:
    return not resident.wrapped_key


def _unlink_pseudonyms(session: Session, numbers: list[str], keys: MasterKey) -> None:
    """Verification events and redemptions stay counted, no longer tied to the cards."""
    refs = [card_reference(keys.pseudonym_key, number) for number in numbers]
    if not refs:
        return
    session.execute(update(VerificationEvent)
                    .where(VerificationEvent.card_ref.in_(refs))  # type: ignore[union-attr]
                    .values(card_ref=None))
    statement = select(Redemption).where(Redemption.card_ref.in_(refs))  # type: ignore[attr-defined]
    for redemption in session.exec(statement):
        # A fresh random reference per row: unique, so the once-only indexes still hold,
        # and it matches no card. The request fingerprint was derived from the old one.
        redemption.card_ref = secrets.token_hex(16)
        redemption.request_hash = secrets.token_hex(16)
        redemption.household_ref = None
        session.add(redemption)


def _retire_cards(session: Session, resident_id: str) -> tuple[int, int, list[str]]:
    """Revoke the resident's cards still in use and blank every credential they carry."""
    cards = list(session.exec(select(Card).where(Card.resident_id == resident_id)))
    revoked = 0
    now = utcnow()
    for card in cards:
        if card.state != CardState.REVOKED:
            card.state, card.state_reason, card.state_changed_at = (
                CardState.REVOKED, SHREDDED, now)
            set_status(session, slot=Slot(card.status_list_id, card.status_idx),
                       status=Status.INVALID)
            revoked += 1
        card.credential = b""
        session.add(card)
    return len(cards), revoked, sorted({card.number for card in cards})


def _forget_applications(session: Session, resident_id: str) -> int:
    """Approved applications stay (cards and reports refer to them) without their note;
    the others go. Examined document types go for all: they hint at where one is from."""
    applications = list(session.exec(
        select(Application).where(Application.resident_id == resident_id)))
    ids = [application.id for application in applications]
    if ids:
        session.execute(delete(DocumentCheck).where(
            DocumentCheck.application_id.in_(ids)))  # type: ignore[attr-defined]
    deleted = 0
    for application in applications:
        if application.status == ApplicationStatus.APPROVED:
            application.decision_note = None
            session.add(application)
        else:
            session.delete(application)
            deleted += 1
    return deleted


def destroy(session: Session, *, resident: Resident, keys: MasterKey,
            shredded_on: date) -> Shredded:
    """The shred itself, without the audit event: also what a restore re-applies.

    Safe to repeat: on a resident already shredded it changes nothing more.
    """
    session.flush()  # pending changes first: the bulk updates below must see them
    cards, revoked, numbers = _retire_cards(session, resident.id)
    _unlink_pseudonyms(session, numbers, keys)
    deleted = _forget_applications(session, resident.id)
    session.execute(delete(ResidentSession).where(
        ResidentSession.resident_id == resident.id))  # type: ignore[arg-type]
    session.execute(delete(ResidentAccount).where(
        ResidentAccount.resident_id == resident.id))  # type: ignore[arg-type]
    resident.wrapped_key = b""
    resident.personal_data = b""
    resident.photo = None
    resident.match_key = ""  # no HMAC is empty: matches nobody
    resident.updated_at = utcnow()
    session.add(resident)
    if session.get(ShredRecord, resident.id) is None:
        session.add(ShredRecord(resident_id=resident.id, shredded_on=shredded_on))
    session.flush()
    return Shredded(resident.id, cards, revoked, deleted)


def shred_resident(session: Session, resident_id: str, reason: ShredReason, actor: Actor, *,
                   keys: MasterKey) -> Shredded:
    """Destroy a resident's personal data for good, in the caller's transaction, audited.

    `keys` is needed only to find the card pseudonyms in the logs; nothing is decrypted.
    """
    resident = session.get(Resident, resident_id, with_for_update=True)
    if resident is None:
        raise NotFound("No such resident.", code="resident_not_found")
    if is_shredded(resident):
        raise Conflict("This resident's personal data was already destroyed.",
                       code="already_shredded")
    done = destroy(session, resident=resident, keys=keys, shredded_on=utcnow().date())
    record(session, actor=actor, action="resident.shred", subject_type="resident",
           subject_id=resident_id,
           details={"reason": str(reason), "cards": done.cards,
                    "cards_revoked": done.cards_revoked,
                    "applications_deleted": done.applications_deleted})
    return done
