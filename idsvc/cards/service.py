"""Card issuance and the staff view of a card.

A credential is signed once, at issuance, and kept (sealed under the
resident's key): the printed card, the QR endpoint and every re-render carry
that same text. A new credential means a new card version.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.cards import credential, numbers, render
from idsvc.cards.labels import if_found_for_holder, labels_in
from idsvc.cards.models import Card
from idsvc.cards.qr import alphanumeric_capacity
from idsvc.cards.render import CardFace
from idsvc.cards.validity import expiry_date
from idsvc.clock import end_of_local_day, local_date, utcnow
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import Signer, active_signer
from idsvc.enrollment.photo import Face, portrait_face, qr_thumbnail
from idsvc.enrollment.policy import Policy
from idsvc.errors import Conflict, Invalid, NotFound
from idsvc.languages import display_name
from idsvc.residents import service as residents
from idsvc.residents.models import Resident
from idsvc.residents.schemas import AddressKind, PersonalData
from idsvc.rows import Columns
from idsvc.status.service import Slot, allocate_slot, status_uri

CREDENTIAL_FIELD = "credential"
CARD_ROWS = Columns(Card, skip=())  # for bulk work (idsvc.rows): an import's batch
# Below this many bytes a face thumbnail is no longer recognisable: leave it out.
MIN_PHOTO_BYTES = 90


class CardState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    MAILED = "mailed"  # in the post: verifies as suspended until its holder activates it


@dataclass(frozen=True)
class Fee:
    """What a replacement or renewal cost, or that a hardship waiver was granted."""

    cents: int
    waived: bool = False


@dataclass(frozen=True)
class IssueContext:
    """What issuance needs beyond the resident: who, where, which keys, which rules."""

    issuer: str
    timezone: str
    signer: Signer
    keys: MasterKey
    policy: Policy
    status_list_size: int
    qr_max_version: int
    actor: Actor
    issued_by: str | None
    centre_id: int | None

    @property
    def signing(self) -> Signing:
        return Signing(self.issuer, self.timezone, self.signer, self.policy, self.qr_max_version)


@dataclass(frozen=True)
class Signing:
    """What signing a card's credential needs, and no database: import workers sign too."""

    issuer: str
    timezone: str
    signer: Signer
    policy: Policy
    qr_max_version: int


@dataclass(frozen=True)
class SignedCard:
    text: str  # the QR text
    has_photo: bool
    expires_on: date | None


def issue_context(session: Session, *, settings: Settings, keys: MasterKey, policy: Policy,
                  actor: Actor, issued_by: str | None, centre_id: int | None) -> IssueContext:
    """Everything issuance needs, with the active signing key of this deployment."""
    return IssueContext(
        issuer=settings.issuer, timezone=settings.timezone,
        signer=active_signer(session, keys_dir=settings.keys_dir), keys=keys, policy=policy,
        status_list_size=settings.status_list_size, qr_max_version=settings.qr_max_version,
        actor=actor, issued_by=issued_by, centre_id=centre_id)


def unprintable_field(person: PersonalData) -> str | None:
    """'name' or 'emergency_contact' when the card could not print it, else None."""
    contact = person.emergency_contact
    return render.unprintable_field(person.full_name, contact.one_line() if contact else None)


def unused_numbers(session: Session, count: int, *, taken: set[str]) -> list[str]:
    """`count` distinct new card numbers that no card and nothing in `taken` has (the
    numbers of cards being signed, not stored yet): one query per draw."""
    found: list[str] = []
    while len(found) < count:
        drawn = {numbers.new_card_number() for _ in range(count - len(found))}
        drawn -= taken
        drawn -= set(found)
        if drawn:
            drawn -= set(session.exec(select(Card.number).where(
                Card.number.in_(drawn))))  # type: ignore[attr-defined]
        found += drawn
    return found


def _subject(card_number: str, version: int, person: PersonalData) -> credential.CredentialSubject:
    printed_address = (
        None if person.address.kind == AddressKind.CARE_OF else person.address.one_line()
    )
    return credential.CredentialSubject(
        card_number=card_number,
        version=version,
        full_name=person.full_name,
        first_name=person.given_name,
        last_name=person.family_name or None,
        date_of_birth=person.date_of_birth,
        gender=person.gender,
        address=printed_address,
        language=person.preferred_languages[0] if person.preferred_languages else None,
        photo_webp=None,
    )


def _with_photo(subject: credential.CredentialSubject, validity: credential.Validity,
                signer: Signer, face: Face, capacity: int) -> str | None:
    """Signed with the largest face thumbnail that fits `capacity` characters, if any does."""
    bare = credential.encode(credential.cwt_claims(subject, validity), signer)
    budget = (capacity - len(bare)) * 2 // 3 - 12  # Base45: 3 characters per 2 bytes
    while budget >= MIN_PHOTO_BYTES:
        try:
            thumbnail = qr_thumbnail(face, max_bytes=budget)
        except Invalid:
            return None
        text = credential.encode(
            credential.cwt_claims(replace(subject, photo_webp=thumbnail), validity), signer)
        if len(text) <= capacity:
            return text
        budget -= (len(text) - capacity) * 2 // 3 + 4
    return None


def _sign_to_fit(subject: credential.CredentialSubject, validity: credential.Validity,
                signer: Signer, face: Face, capacity: int) -> tuple[str, bool]:
    """The QR text within `capacity`, and whether it carries the face.

    The face matters most to a verifier, so a long address leaves the QR before the
    photo does (partners who need it ask the resident); a photo is dropped only when
    the names alone leave no room for it.
    """
    without_address = replace(subject, address=None)
    for candidate in (subject, without_address):
        text = _with_photo(candidate, validity, signer, face, capacity)
        if text is not None:
            return text, True
    for candidate in (subject, without_address):
        text = credential.encode(credential.cwt_claims(candidate, validity), signer)
        if len(text) <= capacity:
            return text, False
    raise Invalid("The name is too long for the card's QR code; check how it was entered.",
                  code="credential_too_large")


def sign_card(*, person: PersonalData, face: Face, number: str, version: int, slot: Slot,
              now: datetime, signing: Signing) -> SignedCard:
    """The credential of a new card version issued at `now`, signed, and its expiry day."""
    today = local_date(now, signing.timezone)
    expires_on = expiry_date(age=person.age_on(today), issued_on=today,
                             rules=signing.policy.validity,
                             minor_until=signing.policy.age.caretaker_until)
    validity = credential.Validity(
        issuer=signing.issuer,
        issued_at=now,
        expires_at=None if expires_on is None else end_of_local_day(expires_on,
                                                                    signing.timezone),
        status_uri=status_uri(signing.issuer, slot.list_id),
        status_idx=slot.idx,
    )
    text, has_photo = _sign_to_fit(_subject(number, version, person), validity, signing.signer,
                                  face, alphanumeric_capacity(signing.qr_max_version))
    return SignedCard(text, has_photo, expires_on)


def next_version(session: Session, number: str) -> int:
    latest = session.exec(select(func.max(Card.version)).where(Card.number == number)).one()
    return (latest or 0) + 1


def issue_card(
    session: Session,
    *,
    resident: Resident,
    application_id: str | None,
    context: IssueContext,
    number: str | None = None,
    reason: str = "new",
    fee: Fee | None = None,
    state: CardState = CardState.ACTIVE,
) -> Card:
    """Sign and store a new card (or a new version of `number`) for the resident.

    `state` MAILED stores it as not in use yet; `lifecycle.hold_for_mail` then marks its
    status (a renewal in the post must not clash with the version it replaces)."""
    person = residents.read_personal_data(resident, context.keys)
    portrait = residents.read_photo(resident, context.keys)
    if portrait is None:
        raise Invalid("The resident has no photo.", code="photo_required")
    number = number or unused_numbers(session, 1, taken=set())[0]
    version = next_version(session, number)
    now = utcnow()
    slot = allocate_slot(session, size=context.status_list_size)
    signed = sign_card(person=person, face=portrait_face(portrait), number=number,
                       version=version, slot=slot, now=now, signing=context.signing)
    card = Card(
        id=uuid.uuid4().hex,
        number=number,
        version=version,
        resident_id=resident.id,
        application_id=application_id,
        state=state,
        issued_at=now,
        expires_on=signed.expires_on,
        status_list_id=slot.list_id,
        status_idx=slot.idx,
        kid=context.signer.kid,
        qr_has_photo=signed.has_photo,
        credential=b"",
        issued_by=context.issued_by,
        centre_id=context.centre_id,
        issue_reason=reason,
        fee_cents=fee.cents if fee else None,
        fee_waived=fee.waived if fee else False,
    )
    card.credential = residents.seal_for(
        resident, context.keys, field=credential_field(card.id), data=signed.text.encode()
    )
    session.add(card)
    session.flush()
    record(
        session,
        actor=context.actor,
        action="card.issue",
        subject_type="card",
        subject_id=card.id,
        details={
            "reason": reason,
            "number": number,
            "version": version,
            "kid": context.signer.kid,
            "qr_photo": signed.has_photo,
        },
    )
    return card


def credential_field(card_id: str) -> str:
    """The sealed field a card's credential is bound to."""
    return f"card:{card_id}:{CREDENTIAL_FIELD}"


def find_card(session: Session, number_text: str, *, for_update: bool = False) -> Card:
    """The newest version of a card, by its number as typed (spaces allowed).

    `for_update` locks it for a lifecycle change; if another change made a newer
    version meanwhile, the caller gets a 409 to retry rather than act on an old one.
    """
    number = numbers.normalise(number_text)
    if number is None:
        raise NotFound("That is not a valid card number.", code="card_not_found")
    statement = (select(Card).where(Card.number == number)
                 .order_by(Card.version.desc()).limit(1))  # type: ignore[attr-defined]
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    card = session.exec(statement).first()
    if card is None:
        raise NotFound("No card has that number.", code="card_not_found")
    if for_update and next_version(session, number) != card.version + 1:
        raise Conflict("The card changed while this request waited; try again.",
                       code="card_changed")
    return card


def awaiting_activation(card: Card) -> bool:
    """A mailed version its holder has not activated yet (idsvc.cards.mailing)."""
    return card.delivery == "mail" and card.activated_at is None


def card_in_hand(session: Session, number_text: str, *, for_update: bool = False) -> Card:
    """The version a typed number stands for: the newest, unless that one is a renewal still
    in the post, when the holder carries the older version (valid, or revoked once replaced)
    if it ever reached them."""
    newest = find_card(session, number_text, for_update=for_update)
    if not awaiting_activation(newest) or newest.version == 1:
        return newest
    statement = (select(Card).where(Card.number == newest.number,
                                    Card.version < newest.version)
                 .order_by(Card.version.desc()).limit(1))  # type: ignore[attr-defined]
    if for_update:
        statement = statement.with_for_update()
    older = session.exec(statement).first()
    return newest if older is None or awaiting_activation(older) else older


@dataclass(frozen=True)
class CardRecord:
    """A card with its holder's data, decrypted for a staff member who asked for it."""

    card: Card
    person: PersonalData
    portrait_jpeg: bytes | None
    qr_text: str


def _load(session: Session, *, number: str, keys: MasterKey) -> CardRecord:
    card = find_card(session, number)
    resident = residents.get_resident(session, card.resident_id)
    return CardRecord(
        card=card,
        person=residents.read_personal_data(resident, keys),
        portrait_jpeg=residents.read_photo(resident, keys),
        qr_text=residents.open_for(resident, keys, field=credential_field(card.id),
                                   sealed=card.credential).decode("ascii"),
    )


def _audit_access(session: Session, *, card: Card, actor: Actor, purpose: str) -> None:
    record(session, actor=actor, action=f"card.{purpose}", subject_type="card",
           subject_id=card.id, details={"number": card.number, "version": card.version})


def open_card(session: Session, *, number: str, keys: MasterKey, actor: Actor,
              purpose: str) -> CardRecord:
    """Read a card and its holder's record; every such staff read is audited."""
    loaded = _load(session, number=number, keys=keys)
    _audit_access(session, card=loaded.card, actor=actor, purpose=purpose)
    return loaded


@dataclass(frozen=True)
class PrintLayout:
    """The city's fixed texts for printed cards."""

    city_name: str
    return_address: str
    timezone: str
    language: str = "en"  # the captions' language; the holder's own is added for 'if found'

    @classmethod
    def from_settings(cls, settings: Settings) -> PrintLayout:
        return cls(settings.city_name, settings.return_address, settings.timezone,
                   settings.card_language)


PRINTERS: dict[str, Callable[[CardFace], bytes]] = {
    "front.png": lambda face: render.png_bytes(render.render_front(face)),
    "back.png": lambda face: render.png_bytes(render.render_back(face)),
    "card.pdf": render.card_pdf,
}


def print_card(session: Session, *, number: str, keys: MasterKey, actor: Actor,
               layout: PrintLayout, files: tuple[str, ...]) -> tuple[Card, dict[str, bytes]]:
    """Render print files (keys of PRINTERS); audited once the rendering is done.

    The audit append holds a lock until commit, so the slow part comes first.
    """
    loaded = _load(session, number=number, keys=keys)
    face = card_face(loaded, layout=layout)
    rendered = {name: PRINTERS[name](face) for name in files}
    _audit_access(session, card=loaded.card, actor=actor, purpose="print")
    return loaded.card, rendered


def card_face(record_: CardRecord, *, layout: PrintLayout) -> CardFace:
    """What the printer puts on the card, from the stored record."""
    person, card = record_.person, record_.card
    if record_.portrait_jpeg is None:
        raise Invalid("The card's holder has no photo.", code="photo_required")
    contact = person.emergency_contact
    return CardFace(
        city_name=layout.city_name,
        card_number=numbers.display(card.number),
        version=card.version,
        full_name=person.full_name,
        date_of_birth=person.date_of_birth,
        gender=None if person.gender == "U" else person.gender,
        issued_on=local_date(card.issued_at, layout.timezone),
        expires_on=card.expires_on,
        photo_jpeg=record_.portrait_jpeg,
        veteran=person.veteran,
        organ_donor=person.organ_donor,
        emergency_contact=contact.one_line() if contact else None,
        languages=tuple(display_name(code) for code in person.preferred_languages),
        qr_text=record_.qr_text,
        return_to=layout.return_address,
        labels=labels_in(layout.language),
        if_found_local=if_found_for_holder(person.preferred_languages, layout.language),
    )


def card_numbers_of(session: Session, resident_id: str) -> list[str]:
    statement = select(Card.number).where(Card.resident_id == resident_id).distinct()
    return list(session.exec(statement))


def holding_cards(session: Session, resident_ids: Collection[str]) -> set[str]:
    """Which of these residents hold a card (any state: `card_numbers_of` for many)."""
    return set(session.exec(select(Card.resident_id).where(
        Card.resident_id.in_(resident_ids)).distinct()))  # type: ignore[attr-defined]


def card_number_for_application(session: Session, application_id: str) -> str | None:
    return session.exec(select(Card.number).where(Card.application_id == application_id)).first()


# What `stored_credential` answers for a card whose credential was shredded with its
# holder's data (idsvc.retention): the card existed and is revoked, as its QR verifies.
CREDENTIAL_DESTROYED = ""


def stored_credential(session: Session, *, number_text: str, keys: MasterKey) -> str | None:
    """The current credential of a card number, None if there is no such card, or
    `CREDENTIAL_DESTROYED`.

    For verification by number, which then checks it exactly as a scanned QR.
    """
    try:
        card = card_in_hand(session, number_text)
    except NotFound:
        return None
    if not card.credential:
        return CREDENTIAL_DESTROYED
    return credential_of(session, card=card, keys=keys)


def credential_of(session: Session, *, card: Card, keys: MasterKey) -> str:
    """The QR text of this very version (a print batch may hold a renewal still in the post,
    whose number otherwise stands for the older card in hand)."""
    resident = residents.get_resident(session, card.resident_id)
    return residents.open_for(resident, keys, field=credential_field(card.id),
                              sealed=card.credential).decode("ascii")


def kids_in_circulation(session: Session) -> set[str]:
    """Keys that signed a card not revoked and not yet expired: JWKS must keep them."""
    today = utcnow().date() - timedelta(days=1)
    statement = (select(Card.kid).where(Card.state != CardState.REVOKED)
                 .where((Card.expires_on.is_(None)) | (Card.expires_on >= today))  # type: ignore[union-attr,operator]
                 .distinct())
    return set(session.exec(statement))


def latest_card_of(session: Session, resident_id: str) -> Card | None:
    """The resident's newest card (numbers keep their digits across versions)."""
    statement = (select(Card).where(Card.resident_id == resident_id)
                 .order_by(Card.issued_at.desc()).limit(1))  # type: ignore[attr-defined]
    return session.exec(statement).first()


def holder_street_address(session: Session, *, number: str, keys: MasterKey) -> str | None:
    """The card holder's street address from their record; None for a care-of address
    (or no such card). Benefit household limits use it, never the QR's copy."""
    try:
        card = find_card(session, number)
    except NotFound:
        return None
    person = residents.read_personal_data(residents.get_resident(session, card.resident_id),
                                          keys)
    return person.address.one_line() if person.address.kind == AddressKind.STREET else None


def find_cards_of_person(session: Session, *, keys: MasterKey, given_name: str,
                         family_name: str, date_of_birth: date, actor: Actor) -> list[Card]:
    """The newest version of each card held by the person with exactly this name and birth
    date, found through the keyed blind index (no plaintext search); audited as a search
    by `actor`, naming no one (the event lists only the cards found)."""
    found: list[Card] = []
    for resident in residents.residents_named(session, keys=keys, given_name=given_name,
                                              family_name=family_name,
                                              date_of_birth=date_of_birth):
        found += [find_card(session, number) for number in card_numbers_of(session, resident.id)]
    record(session, actor=actor, action="card.search", subject_type="card",
           subject_id="name_and_birth_date",
           details={"results": len(found), "cards": sorted(card.id for card in found)})
    return found
