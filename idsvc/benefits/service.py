"""Benefit catalogue and redemptions: eligibility, exactly-once, voiding, logs.

A redemption first checks the card exactly as POST /verify does; then, with
the benefit's row locked, the rules: window, age, the card's limit in the
current period, one per household, the total quota. Two servers racing for a
once-only benefit cannot both win: the loser waits on the lock, and a partial
unique index on live redemptions backs the rule up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.benefits.models import Benefit, Redemption
from idsvc.benefits.rules import (
    Period,
    age_reason,
    next_period_start,
    period_key,
    window_reason,
)
from idsvc.cards import credential as c
from idsvc.cards.service import holder_street_address
from idsvc.clock import age_on, iso, local_date, utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.pseudonym import card_reference, household_reference
from idsvc.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from idsvc.partners.models import Partner
from idsvc.partners.service import PartnerCredential
from idsvc.verification.checker import Result
from idsvc.verification.service import VerifyContext, check_presented

VOID_WINDOW = timedelta(hours=24)


def create_benefit(session: Session, *, partner: Partner, fields: dict[str, object],
                   actor: Actor) -> Benefit:
    limit = fields.pop("limit")
    benefit = Benefit(partner_id=partner.id, limit_count=limit["count"],  # type: ignore[index]
                      limit_period=limit["period"], created_at=utcnow(),  # type: ignore[index]
                      **fields)
    session.add(benefit)
    session.flush()
    record(session, actor=actor, action="benefit.create", subject_type="benefit",
           subject_id=str(benefit.id), details={"partner_id": partner.id})
    return benefit


def get_benefit(session: Session, benefit_id: int, *, for_update: bool = False) -> Benefit:
    benefit = session.get(Benefit, benefit_id, with_for_update=for_update,
                          populate_existing=for_update)
    if benefit is None:
        raise NotFound("No such benefit.", code="benefit_not_found")
    return benefit


def update_benefit(session: Session, *, benefit: Benefit, fields: dict[str, object],
                   actor: Actor) -> Benefit:
    for name, value in fields.items():
        setattr(benefit, name, value)
    if benefit.starts_on and benefit.ends_on and benefit.ends_on < benefit.starts_on:
        raise Invalid("The benefit would end before it starts.", code="invalid_window")
    session.add(benefit)
    session.flush()
    record(session, actor=actor, action="benefit.update", subject_type="benefit",
           subject_id=str(benefit.id), details={"fields": sorted(fields)})
    return benefit


def catalogue(session: Session, *, today: date, category: str | None = None,
              partner_id: int | None = None) -> list[tuple[Benefit, Partner]]:
    """Active benefits whose window includes today (the city's date), with who offers them."""
    day = today
    statement = (select(Benefit, Partner).join(Partner)
                 .where(Benefit.active.is_(True), Partner.active.is_(True))  # type: ignore[attr-defined]
                 .where((Benefit.starts_on.is_(None)) | (Benefit.starts_on <= day))  # type: ignore[union-attr,operator]
                 .where((Benefit.ends_on.is_(None)) | (Benefit.ends_on >= day))  # type: ignore[union-attr,operator]
                 .order_by(Benefit.category, Partner.name, Benefit.name))
    if category is not None:
        statement = statement.where(Benefit.category == category)
    if partner_id is not None:
        statement = statement.where(Benefit.partner_id == partner_id)
    return [(b, p) for b, p in session.exec(statement)]


def benefits_of(session: Session, partner_id: int) -> list[Benefit]:
    return list(session.exec(select(Benefit).where(Benefit.partner_id == partner_id)
                             .order_by(Benefit.id)))  # type: ignore[arg-type]


def _used(session: Session, *, benefit: Benefit, card_ref: str, key: str) -> list[Redemption]:
    return list(session.exec(select(Redemption).where(
        Redemption.benefit_id == benefit.id, Redemption.card_ref == card_ref,
        Redemption.period_key == key, Redemption.voided_at.is_(None))  # type: ignore[union-attr]
        .order_by(Redemption.redeemed_at)))  # type: ignore[arg-type]


def _refusal(session: Session, *, benefit: Benefit, card_ref: str, born: date | None,
             household: str | None, today: date) -> DomainError | None:
    """Why this card may not use this benefit today, or None (quota aside)."""
    reason = (("inactive" if not benefit.active else None)
              or window_reason(starts_on=benefit.starts_on, ends_on=benefit.ends_on, today=today)
              or age_reason(min_age=benefit.min_age, max_age=benefit.max_age,
                            age=age_on(born, today) if born else None))
    if reason:
        return Invalid("The card may not redeem this benefit now.", code="not_eligible",
                       reason=reason)
    period = Period(benefit.limit_period)
    key = period_key(period, today)
    used = _used(session, benefit=benefit, card_ref=card_ref, key=key)
    if len(used) >= benefit.limit_count:
        again = next_period_start(period, today)
        return Conflict("This card has already used this benefit.", code="already_redeemed",
                        redeemed_at=iso(used[0].redeemed_at),
                        available_again=again.isoformat() if again else None)
    if household is not None and session.exec(select(Redemption.id).where(
            Redemption.benefit_id == benefit.id, Redemption.household_ref == household,
            Redemption.period_key == key, Redemption.voided_at.is_(None))).first():  # type: ignore[union-attr]
        return Invalid("Someone at this address has already used this benefit.",
                       code="not_eligible", reason="household")
    if benefit.quota is not None and benefit.redeemed_count >= benefit.quota:
        return Invalid("All of this benefit has been given out.", code="not_eligible",
                       reason="quota")
    return None


@dataclass(frozen=True)
class Standing:
    """Where a resident stands with one benefit: usable now, or why not and until when."""

    benefit: Benefit
    partner: Partner
    available: bool
    reason: str | None
    last_used_at: datetime | None
    available_again: str | None


def standings(session: Session, *, card_ref: str, born: date, street_address: str | None,
              key: bytes, today: date) -> list[Standing]:
    """Every current benefit, as the resident's own pages show it."""
    result = []
    for benefit, partner in catalogue(session, today=today):
        household = (household_of(street_address, card_ref, key)
                     if benefit.one_per_household else None)
        refusal = _refusal(session, benefit=benefit, card_ref=card_ref, born=born,
                           household=household, today=today)
        details = refusal.details if refusal else {}
        result.append(Standing(
            benefit, partner, refusal is None,
            details.get("reason") or (refusal.code if refusal else None),
            None if refusal is None or "redeemed_at" not in details else
            datetime.fromisoformat(str(details["redeemed_at"]).replace("Z", "+00:00")),
            details.get("available_again")))
    return result


def redemptions_of(session: Session, card_ref: str) -> list[tuple[Redemption, str, str]]:
    """A resident's own redemptions: (redemption, benefit name, partner name)."""
    statement = (select(Redemption, Benefit.name, Partner.name)
                 .join(Benefit, Benefit.id == Redemption.benefit_id)
                 .join(Partner, Partner.id == Redemption.partner_id)
                 .where(Redemption.card_ref == card_ref)
                 .order_by(Redemption.redeemed_at.desc()))  # type: ignore[attr-defined]
    return [tuple(row) for row in session.exec(statement)]  # type: ignore[misc]


def _request_fingerprint(benefit_id: int, card_ref: str) -> str:
    return hashlib.sha256(f"{benefit_id}:{card_ref}".encode()).hexdigest()[:32]


def household_of(street_address: str | None, card_ref: str, key: bytes) -> str:
    """A household pseudonym: the street address, or, for a care-of address (a shelter),
    the person alone, who must not share a limit with everyone else staying there."""
    if street_address:
        return household_reference(key, street_address)
    return household_reference(key, f"card:{card_ref}")


def redeem(session: Session, *, partner: PartnerCredential, benefit_id: int,
           presented: str | None, idempotency_key: str, context: VerifyContext) -> Redemption:
    """Record one use of a benefit, or refuse with the reason; replays return the first.

    `presented` is the scanned QR text, or the credential stored behind a typed number.
    """
    now = utcnow()
    check = check_presented(presented, context, now)
    number = check.card_number
    if number is None and check.result != Result.NOT_FOUND:  # unreadable or forged
        raise Invalid(f"The card is not valid: {check.result}.", code=f"card_{check.result}")
    card_ref = card_reference(context.master_key.pseudonym_key, number) if number else ""
    earlier = session.exec(select(Redemption).where(
        Redemption.partner_id == partner.partner_id,
        Redemption.idempotency_key == idempotency_key)).first()
    if earlier is not None:  # a retry: the first answer, whatever happened since
        if earlier.request_hash != _request_fingerprint(benefit_id, card_ref):
            raise Invalid("This Idempotency-Key was used for another request.",
                          code="idempotency_key_reused")
        return earlier
    if check.result != Result.VALID or check.decoded is None:
        raise Invalid(f"The card is not valid: {check.result}.", code=f"card_{check.result}")
    claim = check.decoded.claim169
    benefit = get_benefit(session, benefit_id, for_update=True)
    if benefit.partner_id != partner.partner_id:
        raise Forbidden("This benefit belongs to another partner.", code="benefit_not_yours")
    today = local_date(now, context.timezone)
    household = None
    if benefit.one_per_household:  # the record's address, decrypted only when needed
        street = holder_street_address(session, number=str(claim[c.F_ID]),
                                       keys=context.master_key)
        household = household_of(street, card_ref, context.master_key.pseudonym_key)
    refusal = _refusal(session, benefit=benefit, card_ref=card_ref, born=c.birth_date(claim),
                       household=household, today=today)
    if refusal is not None:
        raise refusal
    key = period_key(Period(benefit.limit_period), today)
    used = _used(session, benefit=benefit, card_ref=card_ref, key=key)
    taken_quota = session.execute(
        update(Benefit).where(Benefit.id == benefit.id)
        .where((Benefit.quota.is_(None)) | (Benefit.redeemed_count < Benefit.quota))  # type: ignore[union-attr,operator]
        .values(redeemed_count=Benefit.redeemed_count + 1))
    if not taken_quota.rowcount:
        raise Invalid("All of this benefit has been given out.", code="not_eligible",
                      reason="quota")
    redemption = Redemption(benefit_id=benefit.id, partner_id=partner.partner_id,
                            card_ref=card_ref, household_ref=household, period_key=key,
                            slot=min(set(range(1, benefit.limit_count + 1))
                                     - {r.slot for r in used}),
                            idempotency_key=idempotency_key,
                            request_hash=_request_fingerprint(benefit_id, card_ref),
                            redeemed_at=now)
    session.add(redemption)
    session.flush()
    return redemption


def void(session: Session, *, partner: PartnerCredential, redemption_id: int) -> Redemption:
    """A partner takes back its own redemption within 24 hours (audited)."""
    redemption = session.get(Redemption, redemption_id, with_for_update=True)
    if redemption is None or redemption.partner_id != partner.partner_id:
        raise NotFound("No such redemption of yours.", code="redemption_not_found")
    if redemption.voided_at is not None:
        raise Conflict("The redemption is already void.", code="already_void")
    if utcnow() - redemption.redeemed_at > VOID_WINDOW:
        raise Conflict("Redemptions can be voided for 24 hours only.", code="void_window_over")
    redemption.voided_at = utcnow()
    session.add(redemption)
    session.execute(update(Benefit).where(Benefit.id == redemption.benefit_id,
                                          Benefit.redeemed_count > 0)
                    .values(redeemed_count=Benefit.redeemed_count - 1))
    session.flush()
    record(session, actor=Actor("partner", str(partner.partner_id)), action="redemption.void",
           subject_type="redemption", subject_id=str(redemption.id),
           details={"benefit_id": redemption.benefit_id})
    return redemption


def partner_log(session: Session, *, partner_id: int, since: datetime | None,
                until: datetime | None, after_id: int, limit: int) -> list[tuple[Redemption, str]]:
    """The partner's own redemptions, oldest first, paged by id."""
    statement = (select(Redemption, Benefit.name).join(Benefit)
                 .where(Redemption.partner_id == partner_id, Redemption.id > after_id)
                 .order_by(Redemption.id).limit(limit))  # type: ignore[arg-type]
    if since is not None:
        statement = statement.where(Redemption.redeemed_at >= since)
    if until is not None:
        statement = statement.where(Redemption.redeemed_at < until)
    return [(r, name) for r, name in session.exec(statement)]


def offers_for(session: Session, *, partner_id: int, card_ref: str, born: date | None,
               street_address: str | None, key: bytes, today: date) -> list[dict[str, object]]:
    """The partner's own current benefits this card may use now (shown at the scanner)."""
    offers = []
    for benefit in benefits_of(session, partner_id):
        household = (household_of(street_address, card_ref, key)
                     if benefit.one_per_household else None)
        if _refusal(session, benefit=benefit, card_ref=card_ref, born=born,
                    household=household, today=today) is None:
            offers.append({"id": benefit.id, "name": benefit.name})
    return offers


def offers_on_card(sessions: Callable[[], Session], *, partner_id: int,
                   decoded: c.DecodedCredential, keys: MasterKey, timezone: str
                   ) -> list[dict[str, object]]:
    """`offers_for` a verified credential, in its own read session (for the scanner)."""
    claim = decoded.claim169
    number = str(claim[c.F_ID])
    with sessions() as session:
        return offers_for(session, partner_id=partner_id,
                          card_ref=card_reference(keys.pseudonym_key, number),
                          born=c.birth_date(claim),
                          street_address=holder_street_address(session, number=number,
                                                               keys=keys),
                          key=keys.pseudonym_key, today=local_date(utcnow(), timezone))
