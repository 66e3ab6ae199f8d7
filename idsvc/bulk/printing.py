"""Print batches: pick the cards to print, remember them, and render them as one sheet.

A batch records which cards went to the printer together (a later step marks them
mailed or handed out). Rendering decrypts every holder's record, so each card in the
sheet is audited as printed, like a single card print; the audit events are written
after the slow rendering, because the audit append holds a lock until commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image
from sqlalchemy import exists
from sqlmodel import Session, col, select

from idsvc.audit.service import Actor, record
from idsvc.bulk.models import PrintBatch, PrintBatchCard
from idsvc.bulk.sheet import SheetCard, SheetGroup, SheetHeading, sheet_pdf
from idsvc.cards import numbers, render
from idsvc.cards import service as cards
from idsvc.cards.models import Card
from idsvc.cards.service import CardRecord, CardState, PrintLayout
from idsvc.centres.models import ServiceCentre
from idsvc.clock import utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.errors import Forbidden, Invalid, NotFound
from idsvc.residents import service as residents
from idsvc.staff.models import Staff
from idsvc.staff.roles import Role

# Cards in use, and cards to be mailed (idsvc.cards.mailers makes their letters).
PRINTABLE = (CardState.ACTIVE, CardState.MAILED)
MAX_CARDS = 200  # a card printer's input hopper holds 100 to 200 blank cards
DEFAULT_CARDS = 100
_NO_CENTRE = ("-", "No service centre")


class Selection(StrEnum):
    APPROVED = "approved"                 # every card in use, printed before or not
    NOT_YET_PRINTED = "not-yet-printed"   # cards in use that are in no batch yet


def check_may_print(staff: Staff, centre_id: int | None) -> None:
    """Clerks print the cards of their own centre; supervisors and administrators any."""
    if staff.role == Role.CLERK and (centre_id is None or centre_id != staff.centre_id):
        raise Forbidden("Clerks may print batches of their own service centre only.",
                        code="centre_not_yours")


def create_batch(session: Session, *, centre: ServiceCentre | None, selection: Selection,
                 limit: int, actor: Actor, created_by: str | None) -> PrintBatch:
    """A batch of up to `limit` active cards (oldest first), optionally of one centre."""
    if not 1 <= limit <= MAX_CARDS:
        raise Invalid(f"A batch holds 1 to {MAX_CARDS} cards.", code="invalid_limit")
    statement = select(Card.id).where(col(Card.state).in_(PRINTABLE))
    if centre is not None:
        statement = statement.where(Card.centre_id == centre.id)
    if selection == Selection.NOT_YET_PRINTED:
        statement = statement.where(~exists().where(PrintBatchCard.card_id == Card.id))
    statement = statement.order_by(col(Card.issued_at), col(Card.number)).limit(limit)
    card_ids = list(session.exec(statement))
    if not card_ids:
        raise Invalid("No card matches: nothing to print.", code="nothing_to_print")
    batch = PrintBatch(centre_id=centre.id if centre else None, selection=selection,
                       created_at=utcnow(), created_by=created_by, card_count=len(card_ids))
    session.add(batch)
    session.flush()
    assert batch.id is not None
    ordered = _grouped(session, card_ids)
    session.add_all(PrintBatchCard(batch_id=batch.id, card_id=card_id, position=position)
                    for position, card_id in enumerate(ordered, start=1))
    session.flush()
    record(session, actor=actor, action="print_batch.create", subject_type="print_batch",
           subject_id=str(batch.id),
           details={"centre": centre.code if centre else None, "selection": selection,
                    "cards": ordered})
    return batch


def _grouped(session: Session, card_ids: list[str]) -> list[str]:
    """The cards ordered by centre code (cards of no centre last), keeping their order
    within a centre: the sheet prints each centre's cards together."""
    rows = session.exec(select(Card.id, ServiceCentre.code)
                        .join(ServiceCentre, col(Card.centre_id) == ServiceCentre.id,
                              isouter=True)
                        .where(col(Card.id).in_(card_ids))).all()
    code_of = dict(rows)
    rank = {card_id: i for i, card_id in enumerate(card_ids)}
    return sorted(card_ids, key=lambda c: (code_of[c] is None, code_of[c] or "", rank[c]))


def get_batch(session: Session, batch_id: int) -> PrintBatch:
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        raise NotFound("No such print batch.", code="print_batch_not_found")
    return batch


def batch_cards(session: Session, batch_id: int) -> list[Card]:
    statement = (select(Card).join(PrintBatchCard, col(PrintBatchCard.card_id) == Card.id)
                 .where(PrintBatchCard.batch_id == batch_id)
                 .order_by(col(PrintBatchCard.position)))
    return list(session.exec(statement))


def _loaded(session: Session, card: Card, keys: MasterKey) -> CardRecord:
    resident = residents.get_resident(session, card.resident_id)
    qr_text = cards.credential_of(session, card=card, keys=keys)
    return CardRecord(card=card, person=residents.read_personal_data(resident, keys),
                      portrait_jpeg=residents.read_photo(resident, keys), qr_text=qr_text)


def _drawer(face: render.CardFace) -> Callable[[], tuple[Image.Image, Image.Image]]:
    return lambda: (render.render_front(face), render.render_back(face))


@dataclass(frozen=True)
class PrintedSheet:
    batch: PrintBatch
    pdf: bytes
    printed: list[Card]


def print_sheet(session: Session, *, batch: PrintBatch, keys: MasterKey, layout: PrintLayout,
                actor: Actor) -> PrintedSheet:
    """The batch's PDF. Cards revoked or suspended since the batch was made are left out
    (and counted on their centre's separator); each printed card is audited."""
    assert batch.id is not None
    centres = {c.id: c for c in session.exec(select(ServiceCentre))}
    groups: dict[int | None, list[SheetCard]] = {}
    left_out: dict[int | None, int] = {}
    printed: list[Card] = []
    for card in batch_cards(session, batch.id):  # in print order: grouped by centre
        group = groups.setdefault(card.centre_id, [])
        if card.state not in PRINTABLE:
            left_out[card.centre_id] = left_out.get(card.centre_id, 0) + 1
            continue
        face = cards.card_face(_loaded(session, card, keys), layout=layout)
        group.append(SheetCard(numbers.display(card.number), _drawer(face)))
        printed.append(card)
    sheet_groups = []
    for centre_id, sheet_cards in groups.items():
        centre = centres.get(centre_id)
        code, name = (centre.code, centre.name) if centre else _NO_CENTRE
        sheet_groups.append(SheetGroup(code, name, sheet_cards, left_out.get(centre_id, 0)))
    pdf = sheet_pdf(sheet_groups, SheetHeading(batch.id, batch.created_at, layout.city_name))
    for card in printed:
        record(session, actor=actor, action="card.print", subject_type="card",
               subject_id=card.id, details={"number": card.number, "version": card.version,
                                            "print_batch": batch.id})
    if batch.printed_at is None:
        batch.printed_at = utcnow()
        session.add(batch)
    record(session, actor=actor, action="print_batch.print", subject_type="print_batch",
           subject_id=str(batch.id), details={"printed": len(printed),
                                              "left_out": batch.card_count - len(printed)})
    return PrintedSheet(batch, pdf, printed)
