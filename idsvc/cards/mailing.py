"""Cards sent by post: one-time mailer codes, posting, and the upkeep of unactivated cards.

A mailed card is printed with its batch; the mailer letter that goes with it carries a
one-time activation code (only its SHA-256 is stored). Producing the mailers again makes
new codes and voids the old ones, so a reprint never leaves two working letters. Marking
the batch posted starts the clock: a card not activated within
`IDSVC_MAILED_ACTIVATION_DAYS` is suspended as `not_activated` (a clerk reinstates it after
checking the holder's identity), and an online renewal's older version, still valid while
the new one is in the post, is revoked as superseded `RENEWAL_OVERLAP` after posting.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from idsvc.audit.service import Actor, record
from idsvc.cards import lifecycle
from idsvc.cards.models import Card
from idsvc.cards.service import CardState
from idsvc.clock import utcnow
from idsvc.errors import Invalid
from idsvc.residents.schemas import AddressKind, PersonalData

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed from paper
CODE_LENGTH = 12
RENEWAL_OVERLAP = timedelta(days=30)  # issue 9: the old card stays valid this long at most


def mailable(person: PersonalData) -> bool:
    """Cards go by post to a street address only: a care-of address (a shelter or a
    provider) is a desk pick-up, where the holder shows who they are."""
    return person.address.kind == AddressKind.STREET


def require_mailable(person: PersonalData) -> None:
    if not mailable(person):
        raise Invalid("A card is mailed to a street address only; hand this one over at the "
                      "desk.", code="address_not_mailable")


def digest(code: str) -> str:
    return hashlib.sha256(normal_code(code).encode()).hexdigest()


def normal_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_code(session: Session, *, card: Card, actor: Actor) -> str:
    """A fresh one-time code for the card's mailer; any earlier code stops working."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    card.activation_hash = digest(code)
    card.activation_failures, card.activation_locked_until = 0, None
    session.add(card)
    session.flush()
    record(session, actor=actor, action="card.mailer", subject_type="card", subject_id=card.id,
           details={"number": card.number, "version": card.version})
    return "-".join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def waiting_for_mailer(cards: list[Card]) -> list[Card]:
    """The cards of a batch that still go out by post."""
    return [card for card in cards if card.state == CardState.MAILED]


def mark_posted(session: Session, *, cards: list[Card], batch_id: int, actor: Actor) -> int:
    """Record that the batch's mailers went out; the activation clock starts now.

    Only cards whose mailer was produced count; a card posted before keeps its date.
    """
    now = utcnow()
    posted = [card for card in waiting_for_mailer(cards)
              if card.activation_hash is not None and card.mailed_at is None]
    if not posted:
        raise Invalid("No card of this batch is waiting to be posted: produce the mailers "
                      "first.", code="nothing_to_post")
    for card in posted:
        card.mailed_at = now
        session.add(card)
        record(session, actor=actor, action="card.posted", subject_type="card",
               subject_id=card.id, details={"number": card.number, "version": card.version,
                                            "print_batch": batch_id})
    session.flush()
    return len(posted)


@dataclass(frozen=True)
class Upkeep:
    suspended: int
    superseded: int


def _in_use_besides(session: Session, card: Card) -> bool:
    statement = select(Card.id).where(Card.number == card.number, Card.id != card.id,
                                      col(Card.state).not_in((CardState.REVOKED,
                                                              CardState.MAILED)))
    return session.exec(statement).first() is not None


def unactivated_upkeep(session: Session, *, now: datetime, activation_days: int) -> Upkeep:
    """Revoke renewals' older versions once the overlap ends, then suspend mailed cards
    not activated in time (a renewal still overlapping its old card waits for that to end,
    so two versions are never in use at once)."""
    actor = Actor.system()
    superseded = 0
    renewals = session.exec(select(Card).where(Card.state == CardState.MAILED,
                                               col(Card.mailed_at) <= now - RENEWAL_OVERLAP))
    for renewal in list(renewals):
        older = session.exec(select(Card).where(
            Card.number == renewal.number, Card.version < renewal.version,
            col(Card.state).not_in((CardState.REVOKED, CardState.MAILED))))
        for card in list(older):
            lifecycle.revoke(session, card=card, reason=lifecycle.RevokeReason.SUPERSEDED,
                             actor=actor)
            superseded += 1
    suspended = 0
    overdue = session.exec(select(Card).where(
        Card.state == CardState.MAILED,
        col(Card.mailed_at) <= now - timedelta(days=activation_days)))
    for card in list(overdue):
        if _in_use_besides(session, card):
            continue
        card.activation_hash = None
        lifecycle.suspend_unactivated(session, card=card, actor=actor)
        suspended += 1
    return Upkeep(suspended, superseded)
