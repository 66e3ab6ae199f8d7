"""A print batch's mailers and its posting (the batch-level steps of idsvc.cards.mailing).

The mailers of a batch are its cards still to be mailed (state `mailed`), one letter
each, in the sheet's order. Every production draws new codes and voids the earlier ones:
only the latest printout works, so a spoiled or reprinted run never leaves two valid
letters. Each code drawn is audited as `card.mailer`; the batch as `print_batch.mailers`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from idsvc.audit.service import Actor, record
from idsvc.bulk.models import PrintBatch
from idsvc.bulk.printing import batch_cards
from idsvc.cards import numbers
from idsvc.cards.mailer import Letter, Sender, letters_pdf
from idsvc.cards.mailing import mark_posted, new_code, waiting_for_mailer
from idsvc.crypto.envelope import MasterKey
from idsvc.errors import Invalid
from idsvc.residents import service as residents
from idsvc.residents.schemas import PersonalData


@dataclass(frozen=True)
class Mailers:
    pdf: bytes
    count: int


def _address_lines(person: PersonalData) -> tuple[str, ...]:
    address = person.address
    lines = [address.care_of, address.line1, address.line2,
             f"{address.postal_code} {address.city}"]
    return tuple(line for line in lines if line)


def produce_mailers(session: Session, *, batch: PrintBatch, keys: MasterKey, sender: Sender,
                    actor: Actor) -> Mailers:
    """The letters (one page per mailed card) with fresh one-time codes."""
    assert batch.id is not None
    letters = []
    for card in waiting_for_mailer(batch_cards(session, batch.id)):
        person = residents.read_personal_data(residents.get_resident(session, card.resident_id),
                                              keys)
        letters.append(Letter(full_name=person.full_name, address_lines=_address_lines(person),
                              card_number=numbers.display(card.number),
                              code=new_code(session, card=card, actor=actor),
                              expires_on=card.expires_on,
                              languages=tuple(person.preferred_languages)))
    if not letters:
        raise Invalid("No card of this batch goes by post.", code="no_mailed_cards")
    record(session, actor=actor, action="print_batch.mailers", subject_type="print_batch",
           subject_id=str(batch.id), details={"letters": len(letters)})
    return Mailers(letters_pdf(letters, sender, title=f"{sender.city_name}: mailers of print "
                                                       f"batch {batch.id}"), len(letters))


def batch_posted(session: Session, *, batch: PrintBatch, actor: Actor) -> int:
    """Mark the batch's mailed cards posted; returns how many."""
    assert batch.id is not None
    count = mark_posted(session, cards=batch_cards(session, batch.id), batch_id=batch.id,
                        actor=actor)
    record(session, actor=actor, action="print_batch.posted", subject_type="print_batch",
           subject_id=str(batch.id), details={"posted": count})
    return count
