"""Online renewal: a resident renews from the resident pages, and the new card is mailed.

Offered only when nothing needs a desk: the card is active and inside its renewal window,
the photo on file is recent enough to print again (`renewal.photo_max_age_years` in the
policy), the policy charges no renewal fee (a fee is paid at a service centre), the address
is mailable, and the resident confirms that the name and address shown are unchanged (a
change is a reissue at a desk). The new version is issued in the post (state `mailed`)
while the old one stays valid; activating the new one revokes the old as superseded, and
`idsvc card suspend-unactivated` revokes it anyway 30 days after posting
(idsvc.cards.mailing). One renewal at a time: a version in the post blocks another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel import Session, col, select

from idsvc.audit.service import Actor, record
from idsvc.cards import lifecycle
from idsvc.cards import service as cards
from idsvc.cards.mailing import mailable
from idsvc.cards.models import Card
from idsvc.cards.service import CardState, IssueContext, awaiting_activation, issue_context
from idsvc.cards.validity import add_years
from idsvc.clock import local_today
from idsvc.crypto.envelope import MasterKey
from idsvc.enrollment.models import Application
from idsvc.enrollment.policy import Policy
from idsvc.errors import Conflict, DomainError, Invalid
from idsvc.residents import service as residents
from idsvc.residents.schemas import PersonalData
from idsvc.runtime import Runtime


@dataclass(frozen=True)
class Offer:
    """What the renewal page shows: the card, the data to confirm, and why renewal is not
    offered (a refusal), if it is not."""

    card: Card
    person: PersonalData
    window: lifecycle.Renewal | None
    refusal: DomainError | None


def photo_taken_on(session: Session, resident_id: str) -> datetime | None:
    """When the photo on file was taken: photos are taken for an application, at the desk,
    so the newest approved application dates it."""
    statement = (select(Application.decided_at)
                 .where(Application.resident_id == resident_id,
                        Application.status == "approved")
                 .order_by(col(Application.decided_at).desc()).limit(1))
    return session.exec(statement).first()


def _refusal(session: Session, card: Card, person: PersonalData, policy: Policy,
             today: date) -> DomainError | None:
    if awaiting_activation(card):
        return Conflict("A renewed card is already in the post; activate it when it arrives.",
                        code="renewal_pending")
    refusal = lifecycle.renewal_refusal(card, policy.renewal, today)
    if refusal is not None:
        return refusal
    if policy.renewal.fee_cents:
        return Conflict("Renewal has a fee: renew at a service centre.",
                        code="renewal_fee_due")
    taken = photo_taken_on(session, card.resident_id)
    if taken is None or add_years(taken.date(), policy.renewal.photo_max_age_years) < today:
        return Invalid("Your photo is too old to print again: renew at a service centre.",
                       code="photo_too_old")
    if not mailable(person):
        return Invalid("Cards are mailed to street addresses only: renew at a service "
                       "centre.", code="address_not_mailable")
    return None


def offer(session: Session, *, resident_id: str, keys: MasterKey, policy: Policy,
          today: date) -> Offer:
    card = cards.latest_card_of(session, resident_id)
    if card is None:
        raise Conflict("You have no card yet.", code="card_not_found")
    person = residents.read_personal_data(residents.get_resident(session, resident_id), keys)
    return Offer(card, person, lifecycle.renewal_of(card, policy.renewal, today),
                 _refusal(session, card, person, policy, today))


def renew_online(session: Session, *, resident_id: str, unchanged: bool,
                 context: IssueContext, today: date) -> Card:
    """Issue the renewed card in the post; the old version stays valid meanwhile."""
    latest = cards.latest_card_of(session, resident_id)
    if latest is not None:  # locked first: a second renewal at once then sees this one's
        cards.find_card(session, latest.number, for_update=True)
    current = offer(session, resident_id=resident_id, keys=context.keys, policy=context.policy,
                    today=today)
    if current.refusal is not None:
        raise current.refusal
    if not unchanged:
        raise Invalid("Confirm that your name and address are unchanged; if they changed, "
                      "go to a service centre.", code="confirmation_required")
    old = current.card
    # Printed with the batches of the old card's service centre.
    context = replace(context, centre_id=old.centre_id)
    new = cards.issue_card(session, resident=residents.get_resident(session, resident_id),
                           application_id=None, context=context, number=old.number,
                           reason="renewal", state=CardState.MAILED)
    lifecycle.hold_for_mail(session, card=new, actor=context.actor)
    record(session, actor=context.actor, action="card.renew_online", subject_type="card",
           subject_id=new.id, details={"number": new.number, "version": new.version,
                                       "replaces": old.version})
    return new


def context_for(session: Session, runtime: Runtime, resident_id: str) -> IssueContext:
    """Issuance by the resident: no staff member (the old card's centre is set on renewal)."""
    return issue_context(session, settings=runtime.settings, keys=runtime.master_key,
                         policy=runtime.policy, actor=Actor("resident", resident_id),
                         issued_by=None, centre_id=None)


def today(runtime: Runtime) -> date:
    """The city's date, which the renewal window is measured in."""
    return local_today(runtime.settings.timezone)
