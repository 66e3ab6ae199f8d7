"""The signing key ring: which key signs new cards, and the public keys partners trust."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.changes.models import Change
from idsvc.changes.service import Topic, publish
from idsvc.clock import utcnow
from idsvc.crypto import es256
from idsvc.crypto.keyfiles import passphrase_for, read_secret, write_secret
from idsvc.crypto.models import SigningKey
from idsvc.crypto.passphrase import load_pem, pem_encryption
from idsvc.errors import Conflict, NotFound, Unavailable


class KeyState(StrEnum):
    ACTIVE = "active"            # signs new cards and status lists
    RETIRED = "retired"          # signs nothing new; its cards verify until they expire
    COMPROMISED = "compromised"  # nothing it signed is trusted any more


@dataclass(frozen=True)
class Signer:
    kid: str
    private_key: ec.EllipticCurvePrivateKey


SIGNING_KEY_GLOB = "signing-*.pem"


def private_key_path(keys_dir: Path, kid: str) -> Path:
    return keys_dir / f"signing-{kid}.pem"


def generate_signing_key(session: Session, *, keys_dir: Path) -> SigningKey:
    """Create a P-256 key: private half to a 0600 file (encrypted when the keys directory
    has a passphrase), public half to the database."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    jwk = es256.public_jwk(private_key.public_key())
    kid = es256.jwk_thumbprint(jwk)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        pem_encryption(passphrase_for(keys_dir)),
    )
    write_secret(private_key_path(keys_dir, kid), pem)
    key = SigningKey(kid=kid, public_jwk=json.dumps(jwk), state=KeyState.ACTIVE,
                     created_at=utcnow())
    session.add(key)
    session.flush()
    return key


def active_key(session: Session) -> SigningKey | None:
    statement = (select(SigningKey).where(SigningKey.state == KeyState.ACTIVE)
                 .order_by(SigningKey.created_at.desc()))  # type: ignore[attr-defined]
    return session.exec(statement).first()


def still_signing(session: Session, kid: str) -> bool:
    """Whether `kid` is still the active key, holding its row until the caller commits:
    rotating, retiring or declaring it compromised then waits, so cards signed ahead (an
    import's batch) are stored only under a key that was active throughout."""
    key = session.get(SigningKey, kid, with_for_update={"read": True}, populate_existing=True)
    return key is not None and key.state == KeyState.ACTIVE


def ensure_signing_key(session: Session, *, keys_dir: Path) -> SigningKey:
    """The active key, generated on first run."""
    return active_key(session) or generate_signing_key(session, keys_dir=keys_dir)


@lru_cache(maxsize=16)
def _load_private_key(path: Path, mtime_ns: int) -> ec.EllipticCurvePrivateKey:
    return load_pem(read_secret(path), passphrase_for(path.parent), name=str(path))


def active_signer(session: Session, *, keys_dir: Path) -> Signer:
    """The key that signs new cards; refuses to sign when none is configured."""
    key = active_key(session)
    if key is None:
        raise Unavailable("No active signing key: an administrator must run "
                          "`idsvc keys generate`.", code="no_signing_key")
    path = private_key_path(keys_dir, key.kid)
    if not path.exists():
        raise Unavailable(f"The private key of {key.kid} is not in the keys directory.",
                          code="signing_key_missing")
    return Signer(kid=key.kid, private_key=_load_private_key(path, path.stat().st_mtime_ns))


def list_keys(session: Session) -> list[SigningKey]:
    statement = select(SigningKey).order_by(SigningKey.created_at)  # type: ignore[arg-type]
    return list(session.exec(statement))


def get_key(session: Session, kid: str) -> SigningKey:
    key = session.get(SigningKey, kid)
    if key is None:
        raise NotFound(f"No signing key {kid}.", code="key_not_found")
    return key


def _set_state(session: Session, key: SigningKey, state: KeyState, actor: Actor) -> None:
    previous = key.state
    key.state, key.state_changed_at = state, utcnow()
    session.add(key)
    session.flush()
    publish(session, topic=Topic.KEYS, ref=key.kid)
    record(session, actor=actor, action=f"key.{state}", subject_type="signing_key",
           subject_id=key.kid, details={"from": previous})


def rotate(session: Session, *, keys_dir: Path, actor: Actor) -> SigningKey:
    """A new active key; the old active keys retire but keep verifying their cards."""
    for old in session.exec(select(SigningKey).where(SigningKey.state == KeyState.ACTIVE)):
        _set_state(session, old, KeyState.RETIRED, actor)
    key = generate_signing_key(session, keys_dir=keys_dir)
    publish(session, topic=Topic.KEYS, ref=key.kid)
    record(session, actor=actor, action="key.rotate", subject_type="signing_key",
           subject_id=key.kid)
    return key


def retire(session: Session, *, kid: str, actor: Actor) -> SigningKey:
    """Stop signing with `kid`; the cards it signed keep verifying until they expire."""
    key = get_key(session, kid)
    if key.state == KeyState.COMPROMISED:
        raise Conflict("A compromised key stays compromised.", code="key_compromised")
    if key.state == KeyState.ACTIVE:
        others = session.exec(select(SigningKey).where(SigningKey.state == KeyState.ACTIVE,
                                                       SigningKey.kid != kid)).first()
        if others is None:
            raise Conflict("This is the only key that signs new cards: run "
                           "`idsvc keys rotate` to replace it.", code="last_active_key")
        _set_state(session, key, KeyState.RETIRED, actor)
    return key


def mark_compromised(session: Session, *, kid: str, keys_dir: Path,
                     actor: Actor) -> SigningKey | None:
    """Distrust everything `kid` signed; if it was the signer, rotate to a fresh key."""
    key = get_key(session, kid)
    was_active = key.state == KeyState.ACTIVE
    if key.state != KeyState.COMPROMISED:
        _set_state(session, key, KeyState.COMPROMISED, actor)
    if was_active and active_key(session) is None:
        return rotate(session, keys_dir=keys_dir, actor=actor)
    return None


def jwks(session: Session, *, kids_in_circulation: set[str]) -> dict[str, Any]:
    """The published key set: active keys, and retired keys that signed a card still in use.

    A compromised key is withdrawn: a generic verifier that ignores our `state` member
    must not accept what a thief signs with it (ours answer `invalid` for an unknown kid).
    """
    keys = []
    for key in list_keys(session):
        if key.state == KeyState.COMPROMISED:
            continue
        if key.state == KeyState.RETIRED and key.kid not in kids_in_circulation:
            continue
        jwk = json.loads(key.public_jwk)
        keys.append({**jwk, "kid": key.kid, "alg": "ES256", "use": "sig", "state": key.state})
    return {"keys": keys}


@dataclass(frozen=True)
class TrustedKey:
    kid: str
    public_key: ec.EllipticCurvePublicKey
    state: str


class KeyMirror:
    """Every worker's copy of the public keys and their states, kept by the change feed."""

    topic = Topic.KEYS

    def __init__(self) -> None:
        self._keys: dict[str, TrustedKey] = {}

    def reload(self, session: Session) -> None:
        self._keys = {key.kid: TrustedKey(key.kid,
                                          es256.public_key_from_jwk(json.loads(key.public_jwk)),
                                          key.state)
                      for key in list_keys(session)}

    def apply(self, session: Session, change: Change) -> None:
        self.reload(session)

    def get(self, kid: str) -> TrustedKey | None:
        return self._keys.get(kid)
