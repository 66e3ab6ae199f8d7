"""A card's life after issuance: revoke, suspend, reinstate, replace, renew, reissue.

Each step is audited and reaches the status list in the same transaction, so
online verification sees it on the next request and offline verifiers on
their next sync. Only the newest version of a card number can change: older
versions were revoked when they were superseded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.cards.models import Card
from idsvc.cards.service import CardState, Fee, IssueContext, issue_card
from idsvc.clock import utcnow
from idsvc.enrollment.policy import RenewalRules
from idsvc.errors import Conflict, DomainError, Invalid
from idsvc.residents import service as residents
from idsvc.status.service import Slot, Status, set_status


class RevokeReason(StrEnum):
    LOST = "lost"
    STOLEN = "stolen"
    DAMAGED = "damaged"
    DECEASED = "deceased"
    FRAUD = "fraud"
    CLERICAL_ERROR = "clerical_error"
    SUPERSEDED = "superseded"  # a newer version was issued: set by idsvc, not chosen


class ReplaceReason(StrEnum):
    LOST = "lost"
    STOLEN = "stolen"
    DAMAGED = "damaged"


_STATUS_OF = {CardState.ACTIVE: Status.VALID, CardState.SUSPENDED: Status.SUSPENDED,
              CardState.REVOKED: Status.INVALID, CardState.MAILED: Status.SUSPENDED}


def _change_state(session: Session, card: Card, state: CardState, reason: str | None,
                  actor: Actor, action: str) -> Card:
    card.state, card.state_reason, card.state_changed_at = state, reason, utcnow()
    session.add(card)
    set_status(session, slot=Slot(card.status_list_id, card.status_idx), status=_STATUS_OF[state])
    session.flush()
    record(session, actor=actor, action=action, subject_type="card", subject_id=card.id,
           details={"number": card.number, "version": card.version, "reason": reason})
    return card


def revoke(session: Session, *, card: Card, reason: RevokeReason, actor: Actor) -> Card:
    """Final: a revoked card never verifies again (replace it instead)."""
    if card.state == CardState.REVOKED:
        raise Conflict("The card is already revoked.", code="card_revoked")
    return _change_state(session, card, CardState.REVOKED, reason, actor, "card.revoke")


def suspend(session: Session, *, card: Card, reason: str, actor: Actor) -> Card:
    if card.state != CardState.ACTIVE:
        raise Conflict(f"Only an active card can be suspended; this one is {card.state}.",
                       code=f"card_{card.state}")
    return _change_state(session, card, CardState.SUSPENDED, reason, actor, "card.suspend")


def reinstate(session: Session, *, card: Card, actor: Actor) -> Card:
    """Lift a suspension. A mailed card suspended as never activated counts as handed over:
    the clerk checked the holder's identity."""
    if card.state != CardState.SUSPENDED:
        raise Conflict(f"Only a suspended card can be reinstated; this one is {card.state}.",
                       code=f"card_{card.state}")
    if card.delivery == "mail" and card.activated_at is None:
        card.activated_at, card.activation_hash = utcnow(), None
    return _change_state(session, card, CardState.ACTIVE, None, actor, "card.reinstate")


def hold_for_mail(session: Session, *, card: Card, actor: Actor) -> Card:
    """A card sent by post: it verifies as suspended until its holder activates it, so a
    card stolen from the post is worth nothing."""
    card.delivery = "mail"
    return _change_state(session, card, CardState.MAILED, None, actor, "card.mail")


def suspend_unactivated(session: Session, *, card: Card, actor: Actor) -> Card:
    """A mailed card never activated: suspended until a clerk checks who holds it."""
    if card.state != CardState.MAILED:
        raise Conflict(f"Only a mailed card can lapse unactivated; this one is {card.state}.",
                       code=f"card_{card.state}")
    return _change_state(session, card, CardState.SUSPENDED, "not_activated", actor,
                         "card.suspend")


def activate(session: Session, *, card: Card, actor: Actor) -> Card:
    """A mailed card reached its holder: it verifies from now on, and the older version it
    renews (still in use until now) is revoked as superseded, first, so that at most one
    version is ever in use."""
    if card.state != CardState.MAILED:
        raise Conflict(f"Only a mailed card can be activated; this one is {card.state}.",
                       code=f"card_{card.state}")
    older = list(session.exec(select(Card).where(Card.number == card.number,
                                                 Card.version < card.version,
                                                 Card.state != CardState.REVOKED)))
    for previous in older:
        _change_state(session, previous, CardState.REVOKED, RevokeReason.SUPERSEDED, actor,
                      "card.revoke")
    card.activated_at, card.activation_hash = utcnow(), None
    card.activation_failures, card.activation_locked_until = 0, None
    return _change_state(session, card, CardState.ACTIVE, None, actor, "card.activate")


def _new_version(session: Session, *, card: Card, context: IssueContext, reason: str,
                 fee: Fee | None, state: CardState = CardState.ACTIVE) -> Card:
    """Supersede `card` with a freshly signed version of the same number."""
    if card.state != CardState.REVOKED:
        _change_state(session, card, CardState.REVOKED, RevokeReason.SUPERSEDED, context.actor,
                      "card.revoke")
    resident = residents.get_resident(session, card.resident_id)
    return issue_card(session, resident=resident, application_id=None, context=context,
                      number=card.number, reason=reason, fee=fee, state=state)


# Suspensions that a replacement resolves: the resident reported the card gone.
_REPORTED_GONE = {"reported_lost", "reported_stolen"}


def replace(session: Session, *, card: Card, reason: ReplaceReason, context: IssueContext,
            fee: Fee | None) -> Card:
    """A lost, stolen or damaged card: the old one stops verifying, a new version is issued.

    A card suspended for another reason (an investigation) is not replaced: that would
    lift the suspension by the back door.
    """
    if card.state == CardState.SUSPENDED and card.state_reason not in _REPORTED_GONE:
        raise Conflict("The card is suspended; reinstate it or revoke it first.",
                       code="card_suspended")
    if card.state != CardState.REVOKED:
        _change_state(session, card, CardState.REVOKED, reason, context.actor, "card.revoke")
    elif card.state_reason not in set(ReplaceReason):
        raise Conflict(f"A card revoked as {card.state_reason} cannot be replaced.",
                       code="card_not_replaceable")
    return _new_version(session, card=card, context=context, reason="replacement", fee=fee)


def renewal_window(expires_on: date, rules: RenewalRules) -> tuple[date, date]:
    return (expires_on - timedelta(days=rules.days_before_expiry),
            expires_on + timedelta(days=rules.days_after_expiry))


@dataclass(frozen=True)
class Renewal:
    """When a card may be renewed, and whether `today` is inside that window."""

    opens: date
    closes: date
    open: bool


def renewal_of(card: Card, rules: RenewalRules, today: date) -> Renewal | None:
    """The card's renewal window (None: it never expires), as `renew` enforces it and the
    clerk's and the resident's pages announce it."""
    if card.expires_on is None:
        return None
    opens, closes = renewal_window(card.expires_on, rules)
    return Renewal(opens, closes, opens <= today <= closes)


def renewal_refusal(card: Card, rules: RenewalRules, today: date) -> DomainError | None:
    """Why `card` cannot be renewed today (None: it can), at a desk or online."""
    if card.state != CardState.ACTIVE:
        return Conflict(f"Only an active card can be renewed; this one is {card.state}.",
                        code=f"card_{card.state}")
    window = renewal_of(card, rules, today)
    if window is None:
        return Conflict("This card never expires.", code="card_never_expires")
    if not window.open:
        return Invalid(f"Renewal is possible from {window.opens} to {window.closes}.",
                       code="outside_renewal_window", opens=window.opens.isoformat(),
                       closes=window.closes.isoformat())
    return None


def renew(session: Session, *, card: Card, context: IssueContext, today: date,
          fee: Fee | None) -> Card:
    """A new version with a new validity period, only inside the renewal window."""
    refusal = renewal_refusal(card, context.policy.renewal, today)
    if refusal is not None:
        raise refusal
    return _new_version(session, card=card, context=context, reason="renewal", fee=fee)


def reissue(session: Session, *, card: Card, changes: dict[str, object],
            context: IssueContext) -> Card:
    """After a change of name or address: update the record, then a new version."""
    if card.state != CardState.ACTIVE:
        raise Conflict(f"Only an active card can be reissued; this one is {card.state}.",
                       code=f"card_{card.state}")
    resident = residents.get_resident(session, card.resident_id)
    current = residents.read_personal_data(resident, context.keys)
    updated = residents.apply_changes(current, changes)
    residents.update_personal_data(session, resident=resident, data=updated, keys=context.keys)
    record(session, actor=context.actor, action="resident.update", subject_type="resident",
           subject_id=resident.id, details={"fields": sorted(changes)})
    return _new_version(session, card=card, context=context, reason="reissue", fee=None)


def cards_signed_by(session: Session, kid: str, *, limit: int | None = None) -> list[Card]:
    """Cards still in use (newest version, not revoked) whose credential `kid` signed.

    An older version still in use beside a newer one in the post (an online renewal) is
    left out: the new version replaces it when activated."""
    newer = aliased(Card)
    statement = (select(Card).where(
        Card.kid == kid, Card.state != CardState.REVOKED,
        ~exists().where(newer.number == Card.number, newer.version > Card.version))
        .order_by(Card.number).limit(limit))  # type: ignore[arg-type]
    return list(session.exec(statement))


def reissue_signed_by(session: Session, *, kid: str, context: IssueContext,
                      limit: int | None = None) -> list[Card]:
    """New versions, signed by the active key, for cards `kid` signed (compromised key).

    Call it in chunks (`limit`), one transaction each: every change holds the feed's
    lock until commit, and revocations must not wait hours behind a mass reissue.
    A suspended card stays suspended in its new version; a card in the post is replaced
    by one that waits for a new mailer (its old code goes with the revoked version).
    """
    reissued = []
    for card in cards_signed_by(session, kid, limit=limit):
        state, reason = card.state, card.state_reason
        if state == CardState.MAILED:
            new = _new_version(session, card=card, context=context, reason="rekey", fee=None,
                               state=CardState.MAILED)
            reissued.append(hold_for_mail(session, card=new, actor=context.actor))
            continue
        new = _new_version(session, card=card, context=context, reason="rekey", fee=None)
        if state == CardState.SUSPENDED:
            _change_state(session, new, CardState.SUSPENDED, reason, context.actor,
                          "card.suspend")
        reissued.append(new)
    return reissued
