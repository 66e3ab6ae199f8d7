"""Envelope encryption of personal data (AES-256-GCM).

Each resident's record is sealed under its own random data key, and that key
is stored wrapped by the master key. Destroying a wrapped key destroys the
record everywhere, backups included; rotating the master key only re-wraps
the small data keys. The master key never touches the database.

The master key is three keys with separate jobs. The *wrapping key* protects the data
keys and is the one that rotates (idsvc/crypto/rotation.py). The *blind-index key*
(duplicate checks, look-ups by name and birth date) and the *pseudonym key* (card
references in verification events, redemptions and partners' logs) never rotate: their
outputs are stored in many rows and kept by partners, and a new key would silently stop
every one of them from matching. A rotation therefore carries them over unchanged into
the new key file; only the wrapping key is new.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idsvc.crypto import passphrase as locking
from idsvc.crypto.keyfiles import KeyFileError, passphrase_for, read_secret, write_secret
from idsvc.crypto.strength import decode_data_key

DATA_KEY_FILE = "data.key"
NEXT_DATA_KEY_FILE = "data-next.key"  # present only while a rotation is under way
_FORMAT = b"\x01"  # version byte in front of every ciphertext
_NONCE_BYTES = 12
# A wrapped data key names its master: b"\x02" + key id + sealed key. Keys wrapped before
# key ids existed are a bare sealed key (b"\x01"...) and are tried against every master.
WRAPPED_WITH_ID = b"\x02"
KEY_ID_BYTES = 8


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


def _dek_aad(owner: str) -> bytes:
    return b"dek:" + owner.encode()


@dataclass(frozen=True)
class KeyMaterial:
    """What one data-key file holds."""

    wrapping_key: bytes
    blind_index_key: bytes
    pseudonym_key: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> KeyMaterial:
        """The original form: one 32-byte secret (IDSVC_DATA_KEY, first data.key files)."""
        if len(secret) != 32:
            raise KeyFileError("The data-encryption master key must be 32 bytes.")
        return cls(wrapping_key=_derive(secret, b"idsvc/wrap-data-keys/v1"),
                   blind_index_key=_derive(secret, b"idsvc/blind-index/v1"),
                   pseudonym_key=_derive(secret, b"idsvc/card-pseudonym/v1"))

    @classmethod
    def generate(cls) -> KeyMaterial:
        return cls(*(AESGCM.generate_key(bit_length=256) for _ in range(3)))

    def successor(self) -> KeyMaterial:
        """A new wrapping key; the index keys carry over (see the module docstring)."""
        return KeyMaterial(AESGCM.generate_key(bit_length=256), self.blind_index_key,
                           self.pseudonym_key)

    @cached_property
    def key_id(self) -> bytes:
        """Names the wrapping key in every data key it wraps; reveals nothing of it."""
        return hashlib.sha256(b"idsvc/data-key-id/v1" + self.wrapping_key).digest()[
            :KEY_ID_BYTES]

    def to_file(self) -> bytes:
        fields = {"idsvc": "data-key", "version": 2,
                  "wrap": base64.b64encode(self.wrapping_key).decode(),
                  "blind_index": base64.b64encode(self.blind_index_key).decode(),
                  "pseudonym": base64.b64encode(self.pseudonym_key).decode()}
        return (json.dumps(fields, indent=1) + "\n").encode()

    @classmethod
    def from_file(cls, content: bytes, *, name: str) -> KeyMaterial:
        try:
            if not content.lstrip().startswith(b"{"):
                return cls.from_secret(decode_data_key(content.decode()))
            fields = json.loads(content)
            keys = [base64.b64decode(fields[part], validate=True)
                    for part in ("wrap", "blind_index", "pseudonym")]
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFileError(f"{name} is not a data-encryption key file.") from exc
        if fields.get("idsvc") != "data-key" or any(len(key) != 32 for key in keys):
            raise KeyFileError(f"{name} is not a data-encryption key file.")
        return cls(*keys)


def read_key_file(path: Path) -> KeyMaterial:
    """A data-key file, opened with the keys directory's passphrase when it is encrypted."""
    return _open_key_file(read_secret(path), passphrase_for(path.parent), str(path))


@lru_cache(maxsize=8)
def _open_key_file(content: bytes, passphrase: bytes | None, name: str) -> KeyMaterial:
    # Start-up checks a file and then loads it: scrypt's half second is paid once.
    return KeyMaterial.from_file(locking.unlock(content, passphrase, name=name), name=name)


def key_file_content(material: KeyMaterial, keys_dir: Path) -> bytes:
    """What to write for `material`: encrypted when the keys directory has a passphrase."""
    passphrase = passphrase_for(keys_dir)
    plain = material.to_file()
    return plain if passphrase is None else locking.lock(plain, passphrase)


class _KeyFiles:
    """Where a master key was read from, so a running worker notices a rotation."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir

    def stamp(self) -> tuple[tuple[int, int] | None, ...]:
        stamps = []
        for name in (DATA_KEY_FILE, NEXT_DATA_KEY_FILE):
            try:
                info = (self.keys_dir / name).stat()
                stamps.append((info.st_ino, info.st_mtime_ns))
            except FileNotFoundError:
                stamps.append(None)
        return tuple(stamps)

    def load(self) -> tuple[KeyMaterial, ...]:
        """The key new data keys are wrapped with first, then the one being rotated away."""
        following = self.keys_dir / NEXT_DATA_KEY_FILE
        # The new key first: should a rotation finish in between, data.key then holds
        # that same key, never the old one alone.
        try:
            successor = read_key_file(following) if following.exists() else None
        except KeyFileError:
            if following.exists():
                raise
            successor = None  # renamed over data.key a moment ago: the rotation finished
        current = read_key_file(self.keys_dir / DATA_KEY_FILE)
        if successor is None:
            return (current,)
        if (successor.blind_index_key, successor.pseudonym_key) != (
                current.blind_index_key, current.pseudonym_key):
            raise KeyFileError(f"{following} does not belong to {DATA_KEY_FILE}: it was not "
                               "made by `idsvc keys rotate-data-key` from this key.")
        return (successor, current)


class MasterKey:
    """The city's data-encryption keys: the wrapping keys in use and the index keys.

    Usually there is one wrapping key. During a rotation there are two: the new one wraps
    every new data key and the old one still opens what is not re-wrapped yet. A master
    key read from key files notices a rotation started or finished by another process and
    reloads, so running workers keep reading every record while the CLI re-wraps them.
    """

    def __init__(self, materials: tuple[KeyMaterial, ...], *,
                 files: _KeyFiles | None = None) -> None:
        self.blind_index_key = materials[0].blind_index_key
        self.pseudonym_key = materials[0].pseudonym_key
        self._materials = materials
        self._files = files
        self._stamp = files.stamp() if files else None

    @classmethod
    def from_secret(cls, secret: bytes) -> MasterKey:
        return cls((KeyMaterial.from_secret(secret),))

    @classmethod
    def from_files(cls, keys_dir: Path) -> MasterKey:
        files = _KeyFiles(keys_dir)
        return cls(files.load(), files=files)

    @property
    def key_id(self) -> bytes:
        """The id of the wrapping key that wraps new data keys."""
        self._refresh()
        return self._materials[0].key_id

    def _refresh(self) -> None:
        if self._files is None:
            return
        stamp = self._files.stamp()
        if stamp == self._stamp:
            return
        materials = self._files.load()
        if (materials[0].blind_index_key, materials[0].pseudonym_key) != (
                self.blind_index_key, self.pseudonym_key):
            raise KeyFileError("The data-encryption key files were replaced by keys that are "
                               "not a rotation of this one; restore the right data.key.")
        self._materials, self._stamp = materials, stamp

    def new_data_key(self, *, owner: str) -> tuple[bytes, bytes]:
        """A fresh data key for one record, and its wrapped form to store beside it."""
        self._refresh()
        key = AESGCM.generate_key(bit_length=256)
        return key, self._wrap(self._materials[0], key, owner)

    @staticmethod
    def _wrap(material: KeyMaterial, key: bytes, owner: str) -> bytes:
        return (WRAPPED_WITH_ID + material.key_id
                + seal(material.wrapping_key, key, aad=_dek_aad(owner)))

    def _candidates(self, wrapped: bytes) -> tuple[tuple[KeyMaterial, ...], bytes]:
        if not wrapped.startswith(WRAPPED_WITH_ID):
            return self._materials, wrapped
        key_id, sealed = wrapped[1 : 1 + KEY_ID_BYTES], wrapped[1 + KEY_ID_BYTES :]
        return tuple(m for m in self._materials if m.key_id == key_id), sealed

    def unwrap(self, wrapped: bytes, *, owner: str) -> bytes:
        candidates, sealed = self._candidates(wrapped)
        if not candidates:  # wrapped by a key this worker has not loaded yet: a rotation
            self._refresh()
            candidates, sealed = self._candidates(wrapped)
        for material in candidates:
            try:
                return open_sealed(material.wrapping_key, sealed, aad=_dek_aad(owner))
            except DecryptionFailed:
                continue
        raise DecryptionFailed("No master key in use opens this data key.")

    def is_current(self, wrapped: bytes) -> bool:
        """Whether `wrapped` is wrapped by the key that wraps new data keys."""
        return wrapped[:1 + KEY_ID_BYTES] == WRAPPED_WITH_ID + self._materials[0].key_id

    def rewrap(self, wrapped: bytes, *, owner: str) -> bytes:
        """The same data key, wrapped by the current wrapping key."""
        return self._wrap(self._materials[0], self.unwrap(wrapped, owner=owner), owner)


def create_key_file(keys_dir: Path) -> None:
    """A new random data.key (encrypted when the keys directory has a passphrase)."""
    write_secret(keys_dir / DATA_KEY_FILE, key_file_content(KeyMaterial.generate(), keys_dir))


def load_master_key(*, keys_dir: Path, encoded: str | None, create: bool = False) -> MasterKey:
    """Read the master key from the environment or keys_dir (created on first run if asked)."""
    if encoded:
        try:
            return MasterKey.from_secret(decode_data_key(encoded))
        except ValueError as exc:
            raise KeyFileError(f"IDSVC_DATA_KEY {exc}: it must be 32 random bytes in base64."
                               ) from exc
    path = keys_dir / DATA_KEY_FILE
    if not path.exists():
        if not create:
            raise KeyFileError(
                f"No data-encryption key at {path}: run `idsvc keys generate` "
                "or set IDSVC_DATA_KEY."
            )
        create_key_file(keys_dir)
    return MasterKey.from_files(keys_dir)
