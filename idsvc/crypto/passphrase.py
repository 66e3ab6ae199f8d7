"""Private key files encrypted at rest under the operator's passphrase.

A copied keys directory (a backup, a disk image, a stolen drive) then gives nothing
without the passphrase, which is kept elsewhere (a secret store, a credentials mount).
Signing keys stay standard PEM (PKCS#8 with the library's best available encryption),
so OpenSSL can still open them; data-key files are sealed with AES-256-GCM under a key
stretched from the passphrase by scrypt, slow on purpose against guessing.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from idsvc.crypto.keyfiles import KeyFileError

LOCKED = "locked-key"
# OWASP's scrypt minimum (128 MiB, about half a second): paid once per process start.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
_MAX_N, _MAX_R, _MAX_P = 2**20, 16, 4  # a file asking for more is refused, not obeyed
_AAD = b"idsvc locked key v1"
_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
NO_PASSPHRASE = "set IDSVC_KEY_PASSPHRASE or IDSVC_KEY_PASSPHRASE_FILE"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _stretch(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _locked_fields(blob: bytes) -> dict[str, Any] | None:
    try:
        fields = json.loads(blob)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) and fields.get("idsvc") == LOCKED else None


def is_locked(blob: bytes) -> bool:
    return blob.startswith(_ENCRYPTED_PEM) or _locked_fields(blob) is not None


def lock(plaintext: bytes, passphrase: bytes) -> bytes:
    """The file content that `unlock` opens with the same passphrase."""
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _stretch(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    fields = {"idsvc": LOCKED, "version": 1,
              "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                      "salt": _b64(salt)},
              "nonce": _b64(nonce), "ciphertext": _b64(AESGCM(key).encrypt(nonce, plaintext, _AAD))}
    return (json.dumps(fields, indent=1) + "\n").encode()


def unlock(blob: bytes, passphrase: bytes | None, *, name: str) -> bytes:
    """The plaintext of a locked data-key file (a plain one is returned as it is)."""
    fields = _locked_fields(blob)
    if fields is None:
        return blob
    if passphrase is None:
        raise KeyFileError(f"{name} is passphrase-encrypted: {NO_PASSPHRASE}.")
    try:
        kdf = fields["kdf"]
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if kdf["name"] != "scrypt" or not (n <= _MAX_N and r <= _MAX_R and p <= _MAX_P):
            raise KeyFileError(f"{name}: unsupported key-derivation parameters.")
        key = _stretch(passphrase, base64.b64decode(kdf["salt"]), n, r, p)
        return AESGCM(key).decrypt(base64.b64decode(fields["nonce"]),
                                   base64.b64decode(fields["ciphertext"]), _AAD)
    except InvalidTag as exc:
        raise KeyFileError(f"The key passphrase does not open {name}.") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(f"{name} is damaged: not a readable encrypted key file.") from exc


def pem_encryption(passphrase: bytes | None) -> serialization.KeySerializationEncryption:
    if passphrase is None:
        return serialization.NoEncryption()
    return serialization.BestAvailableEncryption(passphrase)


def load_pem(pem: bytes, passphrase: bytes | None, *, name: str) -> ec.EllipticCurvePrivateKey:
    """An EC private key from PEM, encrypted or not; a missing or wrong passphrase says so."""
    encrypted = pem.startswith(_ENCRYPTED_PEM)
    if encrypted and passphrase is None:
        raise KeyFileError(f"{name} is passphrase-encrypted: {NO_PASSPHRASE}.")
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase if encrypted else None)
    except ValueError as exc:
        reason = "the key passphrase does not open it" if encrypted else "not a PEM private key"
        raise KeyFileError(f"{name}: {reason}.") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyFileError(f"{name} is not an EC private key.")
    return key


def lock_pem(pem: bytes, passphrase: bytes, *, name: str) -> bytes:
    """The same key, as encrypted PKCS#8 PEM."""
    key = load_pem(pem, None, name=name)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             pem_encryption(passphrase))
