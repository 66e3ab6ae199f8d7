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

from idsvc.clock import utcnow
from idsvc.crypto import es256
from idsvc.crypto.keyfiles import KeyFileError, read_secret, write_secret
from idsvc.crypto.models import SigningKey
from idsvc.errors import Conflict


class KeyState(StrEnum):
    ACTIVE = "active"


@dataclass(frozen=True)
class Signer:
    kid: str
    private_key: ec.EllipticCurvePrivateKey


def private_key_path(keys_dir: Path, kid: str) -> Path:
    return keys_dir / f"signing-{kid}.pem"


def generate_signing_key(session: Session, *, keys_dir: Path) -> SigningKey:
    """Create a P-256 key: private half to a 0600 file, public half to the database."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    jwk = es256.public_jwk(private_key.public_key())
    kid = es256.jwk_thumbprint(jwk)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
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


def ensure_signing_key(session: Session, *, keys_dir: Path) -> SigningKey:
    """The active key, generated on first run."""
    return active_key(session) or generate_signing_key(session, keys_dir=keys_dir)


@lru_cache(maxsize=16)
def _load_private_key(path: Path, mtime_ns: int) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(read_secret(path), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyFileError(f"{path} is not an EC private key.")
    return key


def active_signer(session: Session, *, keys_dir: Path) -> Signer:
    """The key that signs new cards; refuses to sign when none is configured."""
    key = active_key(session)
    if key is None:
        raise Conflict("No active signing key: run `idsvc keys generate`.",
                       code="no_signing_key")
    path = private_key_path(keys_dir, key.kid)
    if not path.exists():
        raise Conflict(f"The private key of {key.kid} is not in the keys directory.",
                       code="signing_key_missing")
    return Signer(kid=key.kid, private_key=_load_private_key(path, path.stat().st_mtime_ns))


def list_keys(session: Session) -> list[SigningKey]:
    statement = select(SigningKey).order_by(SigningKey.created_at)  # type: ignore[arg-type]
    return list(session.exec(statement))


def jwks(session: Session) -> dict[str, Any]:
    """The published key set: every key that may have signed a card in circulation."""
    keys = []
    for key in list_keys(session):
        jwk = json.loads(key.public_jwk)
        keys.append({**jwk, "kid": key.kid, "alg": "ES256", "use": "sig", "state": key.state})
    return {"keys": keys}
