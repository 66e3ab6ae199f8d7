"""Activating a mailed card with the one-time code on its mailer (public, no login).

Wrong codes count on the card, with the same back-off as logins (idsvc.abuse): a few
free tries, then growing waits, then a day's lock. A wrong code, an unknown card, a card
not in the post and a locked card all get the same answer, so the endpoint tells a
stranger nothing about a card number; the client address budget (web/throttle.py) stops
guessing spread over many cards.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session

from idsvc.abuse import wait_after
from idsvc.audit.service import Actor
from idsvc.cards import lifecycle
from idsvc.cards.mailing import digest
from idsvc.cards.models import Card
from idsvc.cards.service import CardState, find_card
from idsvc.clock import utcnow
from idsvc.errors import DomainError, NotFound, Unauthorized

REFUSED = Unauthorized("The card number or activation code is not right, or there were too "
                       "many tries: wait a few minutes, or ask at a service centre.",
                       code="invalid_card_activation")


def _count_failure(session: Session, card: Card) -> None:
    card.activation_failures += 1
    wait = wait_after(card.activation_failures)
    card.activation_locked_until = utcnow() + wait if wait else None
    session.add(card)
    session.flush()


def activate_with_code(session: Session, *, number_text: str, code: str) -> Card | DomainError:
    """The activated card, or the refusal to send (returned, not raised: the failure count
    must be committed with the refusal, not rolled back by it)."""
    try:
        card = find_card(session, number_text, for_update=True)
    except (NotFound, DomainError):
        return REFUSED
    if card.state != CardState.MAILED or card.activation_hash is None:
        return REFUSED
    locked = (card.activation_locked_until is not None
              and card.activation_locked_until > utcnow())
    if locked or not secrets.compare_digest(card.activation_hash, digest(code)):
        if not locked:
            _count_failure(session, card)
        return REFUSED
    return lifecycle.activate(session, card=card, actor=Actor("resident", card.resident_id))
