"""Online verification for partners (DESIGN §6): a verdict and the scoped card fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from idsvc.cards.credential import DecodedCredential
from idsvc.cards.service import CREDENTIAL_DESTROYED, kids_in_circulation, stored_credential
from idsvc.clock import iso, local_date, utcnow
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import KeyMirror, active_signer, jwks
from idsvc.crypto.pseudonym import card_reference
from idsvc.partners.scopes import Field
from idsvc.partners.service import PartnerCredential
from idsvc.runtime import Mirrors, Runtime
from idsvc.status.mirror import StatusMirror
from idsvc.status.service import parse_status_uri, status_uri
from idsvc.verification import events
from idsvc.verification.checker import SHOWS_CARD, Check, Result, check_credential
from idsvc.verification.disclosure import disclose
from idsvc.verification.events import Event, EventSink
from idsvc.verification.offline import make_bundle


@dataclass(frozen=True)
class VerifyContext:
    issuer: str
    timezone: str
    keys: KeyMirror
    statuses: StatusMirror
    master_key: MasterKey
    events: EventSink


@dataclass(frozen=True)
class Outcome:
    result: Result
    checked_at: datetime
    card: dict[str, Any] | None
    decoded: DecodedCredential | None = None


def verify_context(runtime: Runtime) -> VerifyContext:
    """What checking a card needs, from the running app (mirrors, keys, event sink)."""
    mirrors = runtime.mirrors
    return VerifyContext(issuer=runtime.settings.issuer, timezone=runtime.settings.timezone,
                         keys=mirrors.keys, statuses=mirrors.statuses,
                         master_key=runtime.master_key, events=runtime.events)


def _check(text: str, context: VerifyContext, now: datetime) -> Check:
    def status_of(uri: str, idx: int) -> int | None:
        list_id = parse_status_uri(context.issuer, uri)
        return None if list_id is None else context.statuses.status(list_id, idx)

    check = check_credential(text, keys=context.keys, issuer=context.issuer,
                             status_of=status_of, now=now)
    if check.result == Result.STATUS_UNKNOWN:  # online, our own lists are always at hand
        return Check(Result.INVALID, "unknown_status_list")
    return check


def credential_by_number(sessions: Callable[[], Session], *, card_number: str,
                         keys: MasterKey) -> str | None:
    """The stored credential of a typed card number (a database read, unlike a scan)."""
    with sessions() as session:
        return stored_credential(session, number_text=card_number, keys=keys)


def check_presented(text: str | None, context: VerifyContext, now: datetime) -> Check:
    """The verdict on a presented card: its QR text, or the credential behind a number."""
    if text is None:
        return Check(Result.NOT_FOUND, "no_such_card")
    if text == CREDENTIAL_DESTROYED:  # a shredded holder's card: revoked, as its QR says
        return Check(Result.REVOKED, "credential_destroyed")
    return _check(text, context, now)


def verify(*, text: str | None, method: str, partner: PartnerCredential,
           context: VerifyContext) -> Outcome:
    """One rule set for a scanned QR and for the credential stored behind a typed number.

    Reads no database row: keys and statuses come from the worker's mirrors, and the
    event goes to the sink.
    """
    now = utcnow()
    check = check_presented(text, context, now)
    card = None
    if check.result in SHOWS_CARD and check.decoded is not None:
        card = disclose(check.decoded, partner.scope, local_date(now, context.timezone))
    number = check.card_number
    context.events.record(Event(
        at=now, partner_id=partner.partner_id, key_id=partner.key_id, method=method,
        result=check.result,
        card_ref=card_reference(context.master_key.pseudonym_key, number) if number else None))
    return Outcome(check.result, now, card, check.decoded if card is not None else None)


def lists_offers(outcome: Outcome, partner: PartnerCredential) -> bool:
    """Whether the answer lists the partner's offers: a card is shown, and the partner's
    scope includes benefits (the caller looks them up, as it alone knows how to read)."""
    return (outcome.card is not None and outcome.decoded is not None
            and Field.BENEFITS in partner.scope)


def answer(outcome: Outcome, offers: list[dict[str, object]] | None = None) -> dict[str, Any]:
    """The `POST /api/v1/verify` JSON, for the API and the partner desk page alike.
    `offers` are listed only on a valid card: an expired or suspended one redeems nothing."""
    body: dict[str, Any] = {"result": str(outcome.result), "checked_at": iso(outcome.checked_at)}
    card = outcome.card
    if card is not None and offers is not None:
        card = {**card, "benefits": offers if outcome.result == "valid" else []}
    if card is not None:
        body["card"] = card
    return body


def offline_bundle(session: Session, *, settings: Settings, mirrors: Mirrors) -> dict[str, Any]:
    """What an offline device needs: the public keys and every signed status list.
    The caller brings `mirrors` up to date from the primary first (the change feed)."""
    signer = active_signer(session, keys_dir=settings.keys_dir)
    tokens = {}
    for list_id in mirrors.statuses.list_ids():
        signed = mirrors.publisher.token(list_id, signer=signer, issuer=settings.issuer,
                                         ttl=settings.status_ttl_seconds)
        if signed is not None:
            tokens[status_uri(settings.issuer, list_id)] = signed.token
    return make_bundle(issuer=settings.issuer,
                       jwks=jwks(session, kids_in_circulation=kids_in_circulation(session)),
                       status_tokens=tokens, generated_at=utcnow())


def purge_events(session: Session, *, retention_days: int) -> int:
    """Forget verification events older than the retention period (DESIGN §5)."""
    return events.purge_events(session, before=utcnow() - timedelta(days=retention_days))
