"""Partners, their API keys and what they may see."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.changes.service import Topic, publish
from idsvc.clock import utcnow
from idsvc.errors import Conflict, Invalid, NotFound
from idsvc.partners.models import Partner, PartnerKey
from idsvc.partners.scopes import DEFAULT_SCOPES, Field, PartnerKind, effective_scope

KEY_MARK = "idsvc_"
_PREFIX_LEN = 10


def _hash_secret(secret: str) -> str:
    # API keys are 256-bit random: a fast hash is enough and keeps verification cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(api_key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    body = api_key.removeprefix(KEY_MARK)
    if body == api_key or len(body) < _PREFIX_LEN + 2 or body[_PREFIX_LEN] != "_":
        return None
    return body[:_PREFIX_LEN], body[_PREFIX_LEN + 1:]


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(_hash_secret(secret), secret_hash)


def create_partner(session: Session, *, name: str, kind: PartnerKind, actor: Actor) -> Partner:
    if session.exec(select(Partner).where(Partner.name == name)).first() is not None:
        raise Conflict(f"A partner named {name!r} exists.", code="partner_exists")
    partner = Partner(name=name, kind=kind, created_at=utcnow())
    session.add(partner)
    session.flush()
    record(session, actor=actor, action="partner.create", subject_type="partner",
           subject_id=str(partner.id), details={"kind": kind})
    return partner


def get_partner(session: Session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id}.", code="partner_not_found")
    return partner


def list_partners(session: Session) -> list[Partner]:
    return list(session.exec(select(Partner).order_by(Partner.name)))


def scope_of(partner: Partner) -> frozenset[Field]:
    return effective_scope(partner.kind, json.loads(partner.scope) if partner.scope else None)


def update_partner(session: Session, *, partner: Partner, fields: dict[str, object],
                   actor: Actor) -> Partner:
    """Apply the fields given; a scope may only narrow the kind's default."""
    if "scope" in fields:
        scope = fields["scope"]
        if scope is None:
            partner.scope = None
        else:
            wanted = {Field(f) for f in scope}  # type: ignore[union-attr]
            wider = wanted - DEFAULT_SCOPES[PartnerKind(partner.kind)]
            if wider:
                raise Invalid("A partner's scope can only narrow its kind's default; not "
                              f"allowed for {partner.kind}: {sorted(wider)}",
                              code="scope_too_wide")
            partner.scope = json.dumps(sorted(wanted))
    if fields.get("active") is not None:
        partner.active = bool(fields["active"])
    if fields.get("rate_limit_per_minute") is not None:
        partner.rate_limit_per_minute = int(fields["rate_limit_per_minute"])  # type: ignore[arg-type]
    session.add(partner)
    session.flush()
    publish(session, topic=Topic.PARTNERS, ref=str(partner.id))
    record(session, actor=actor, action="partner.update", subject_type="partner",
           subject_id=str(partner.id), details={k: v for k, v in fields.items()})
    return partner


def issue_key(session: Session, *, partner: Partner, label: str,
              actor: Actor) -> tuple[PartnerKey, str]:
    """A new API key; the plain key is returned once and never stored."""
    prefix = secrets.token_hex(_PREFIX_LEN // 2)
    secret = secrets.token_urlsafe(32)
    key = PartnerKey(partner_id=partner.id, prefix=prefix, secret_hash=_hash_secret(secret),
                     label=label, created_at=utcnow())
    session.add(key)
    session.flush()
    publish(session, topic=Topic.PARTNERS, ref=str(partner.id))
    record(session, actor=actor, action="partner.key_create", subject_type="partner",
           subject_id=str(partner.id), details={"prefix": prefix})
    return key, f"{KEY_MARK}{prefix}_{secret}"


def list_keys(session: Session, partner: Partner) -> list[PartnerKey]:
    statement = (select(PartnerKey).where(PartnerKey.partner_id == partner.id)
                 .order_by(PartnerKey.id))  # type: ignore[arg-type]
    return list(session.exec(statement))


def revoke_key(session: Session, *, partner: Partner, key_id: int, actor: Actor) -> PartnerKey:
    key = session.get(PartnerKey, key_id)
    if key is None or key.partner_id != partner.id:
        raise NotFound("No such key for this partner.", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
        publish(session, topic=Topic.PARTNERS, ref=str(partner.id))
        record(session, actor=actor, action="partner.key_revoke", subject_type="partner",
               subject_id=str(partner.id), details={"prefix": key.prefix})
    return key


@dataclass(frozen=True)
class PartnerCredential:
    """What verification needs to know about one usable API key (or, with no key, a desk
    user's partner: `key_id` None)."""

    key_id: int | None
    prefix: str
    secret_hash: str
    partner_id: int
    scope: frozenset[Field]
    rate_limit_per_minute: int


def usable_keys(session: Session) -> list[PartnerCredential]:
    """Every unrevoked key of every active partner, for the in-memory key cache."""
    statement = (select(PartnerKey, Partner).join(Partner)
                 .where(PartnerKey.revoked_at.is_(None),  # type: ignore[union-attr]
                        Partner.active.is_(True)))  # type: ignore[attr-defined]
    return [PartnerCredential(key.id, key.prefix, key.secret_hash, partner.id,
                              scope_of(partner), partner.rate_limit_per_minute)
            for key, partner in session.exec(statement)]
