"""Envelope encryption of personal data (AES-256-GCM).

Each resident's record is sealed under its own random data key, and that key
is stored wrapped by the master key. Destroying a wrapped key destroys the
record everywhere, backups included; rotating the master key only re-wraps
the small data keys. The master key never touches the database.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idsvc.crypto.keyfiles import KeyFileError, read_secret, write_secret

DATA_KEY_FILE = "data.key"
_FORMAT = b"\x01"  # version byte in front of every ciphertext
_NONCE_BYTES = 12


class DecryptionFailed(RuntimeError):
    """Ciphertext was altered, moved to another record, or sealed under another key."""


def seal(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """Encrypt and bind to `aad` (the record and field it belongs to)."""
    nonce = os.urandom(_NONCE_BYTES)
    return _FORMAT + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, *, aad: bytes) -> bytes:
    if not sealed.startswith(_FORMAT):
        raise DecryptionFailed("Unknown ciphertext format.")
    nonce = sealed[1 : 1 + _NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[1 + _NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise DecryptionFailed("Ciphertext does not authenticate.") from exc


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class MasterKey:
    """The city's master secret and the keys derived from it, one per purpose."""

    wrapping_key: bytes
    blind_index_key: bytes
    pseudonym_key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> MasterKey:
        if len(secret) != 32:
            raise KeyFileError("The data-encryption master key must be 32 bytes.")
        return cls(
            wrapping_key=_derive(secret, b"idsvc/wrap-data-keys/v1"),
            blind_index_key=_derive(secret, b"idsvc/blind-index/v1"),
            pseudonym_key=_derive(secret, b"idsvc/card-pseudonym/v1"),
        )

    def new_data_key(self, *, owner: str) -> tuple[bytes, bytes]:
        """A fresh data key for one record, and its wrapped form to store beside it."""
        key = AESGCM.generate_key(bit_length=256)
        return key, seal(self.wrapping_key, key, aad=b"dek:" + owner.encode())

    def unwrap(self, wrapped: bytes, *, owner: str) -> bytes:
        return open_sealed(self.wrapping_key, wrapped, aad=b"dek:" + owner.encode())


def load_master_key(*, keys_dir: Path, encoded: str | None, create: bool = False) -> MasterKey:
    """Read the master key from the environment or keys_dir (created on first run if asked)."""
    if encoded:
        return MasterKey.from_secret(base64.b64decode(encoded))
    path = keys_dir / DATA_KEY_FILE
    if not path.exists():
        if not create:
            raise KeyFileError(
                f"No data-encryption key at {path}: run `idsvc keys generate` "
                "or set IDSVC_DATA_KEY."
            )
        write_secret(path, base64.b64encode(os.urandom(32)) + b"\n")
    return MasterKey.from_secret(base64.b64decode(read_secret(path).strip()))
