"""The backup file's outer layer: a passphrase-derived key and AES-256-GCM in chunks.

Layout (integers big-endian):

    b"IDSVCBK1"              magic and format version
    u16 length, header       JSON: {"kdf": "scrypt", "n", "r", "p", "salt", "chunk", "nonce"}
                             (salt and nonce prefix base64; chunk = plaintext bytes per chunk)
    chunk 0 ... chunk k      AES-256-GCM ciphertext, each with its 16-byte tag; every chunk
                             but the last carries exactly `chunk` bytes of plaintext, the last
                             one `chunk` or fewer (possibly none)

key = scrypt(passphrase, salt, n, r, p). Chunk i is sealed with the nonce
prefix (7 bytes) || i (u32) || final (1 byte: 1 for the last chunk, else 0) and the magic
plus header as associated data: the STREAM construction (Hoang, Reyhanitabar, Rogaway,
Vizar 2015). A changed header, a changed, reordered, repeated or dropped chunk fails to
authenticate, and a file cut at a chunk boundary is caught because its new last chunk was
not sealed as the last one. A chunk is released only once it authenticates, but a reader
learns that the whole file is intact only at its end: callers that act on the content read
the file once to check it and once more to use it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import unicodedata
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from idsvc.errors import DomainError

MAGIC = b"IDSVCBK1"
CHUNK_SIZE = 64 * 1024
MIN_PASSPHRASE = 12
_TAG = 16
_PREFIX = 7
_SALT = 16
# scrypt at 128 MiB and about half a second: costly to guess, cheap to run once.
KDF_N = 2**17
_KDF_R, _KDF_P = 8, 1
# Bounds on what a header may ask for, so a crafted file cannot make us spend gigabytes.
_MAX_HEADER = 1024
_LIMITS = {"n": (2**14, 2**20), "r": (1, 16), "p": (1, 4), "chunk": (1024, 4 * 1024 * 1024)}


class BackupError(DomainError):
    """The backup cannot be written, read or restored; the message says what to do."""

    default_code = "backup_error"


def check_passphrase(passphrase: str) -> None:
    """A backup holds every record and key: refuse a passphrase that is easy to guess."""
    if len(passphrase) < MIN_PASSPHRASE or len(set(passphrase)) < 5:
        raise BackupError(f"The backup passphrase must have at least {MIN_PASSPHRASE} "
                          "characters and not repeat a few: use several words.",
                          code="weak_passphrase")


class Passphrase:
    """The operator's passphrase and the keys derived from it, one per file header, so a
    file read twice costs one derivation."""

    def __init__(self, text: str) -> None:
        self._secret = unicodedata.normalize("NFC", text).encode()
        self._keys: dict[bytes, bytes] = {}

    def key_for(self, header: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
        if header not in self._keys:
            self._keys[header] = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(self._secret)
        return self._keys[header]


def _nonce(prefix: bytes, index: int, *, final: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


class SealedWriter:
    """Encrypts everything written to it into `sink`; `close()` seals the last chunk."""

    def __init__(self, sink: BinaryIO, passphrase: Passphrase, *,
                 chunk_size: int = CHUNK_SIZE, kdf_n: int = KDF_N) -> None:
        cost = {"n": kdf_n, "r": _KDF_R, "p": _KDF_P}
        salt, self._prefix = os.urandom(_SALT), os.urandom(_PREFIX)
        header = json.dumps({"kdf": "scrypt", **cost, "chunk": chunk_size,
                             "salt": base64.b64encode(salt).decode(),
                             "nonce": base64.b64encode(self._prefix).decode()},
                            sort_keys=True, separators=(",", ":")).encode()
        self._aad = MAGIC + len(header).to_bytes(2, "big") + header
        self._aead = AESGCM(passphrase.key_for(header, salt, **cost))
        self._sink, self._chunk = sink, chunk_size
        self._buffer = bytearray()
        self._index = 0
        sink.write(self._aad)

    def write(self, data: bytes) -> int:
        self._buffer += data
        # Keep up to one whole chunk back: it may turn out to be the last.
        while len(self._buffer) > self._chunk:
            self._seal(bytes(self._buffer[: self._chunk]), final=False)
            del self._buffer[: self._chunk]
        return len(data)

    def close(self) -> None:
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()

    def _seal(self, plaintext: bytes, *, final: bool) -> None:
        nonce = _nonce(self._prefix, self._index, final=final)
        self._sink.write(self._aead.encrypt(nonce, plaintext, self._aad))
        self._index += 1


class SealedReader:
    """Reads a sealed file back; raises BackupError at the first chunk that does not
    authenticate, and at the end unless the last chunk was sealed as the last."""

    def __init__(self, source: BinaryIO, passphrase: Passphrase) -> None:
        self._source = source
        if _read_full(source, len(MAGIC)) != MAGIC:
            raise BackupError("This is not an idsvc backup file.", code="not_a_backup")
        length = int.from_bytes(_read_full(source, 2), "big")
        header = _read_full(source, length)
        if length > _MAX_HEADER or len(header) != length:
            raise _corrupt("its header is damaged")
        params = _parse_header(header)
        self._aad = MAGIC + length.to_bytes(2, "big") + header
        self._prefix = params["nonce"]
        self._size = params["chunk"] + _TAG
        self._aead = AESGCM(passphrase.key_for(header, params["salt"], params["n"],
                                               params["r"], params["p"]))
        self._index = 0
        self._ahead = _read_full(source, self._size)
        self._plain = b""
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._plain) < size) and not self._ended:
            self._plain += self._next_chunk()
        if size < 0:
            size = len(self._plain)
        out, self._plain = self._plain[:size], self._plain[size:]
        return out

    def finish(self) -> None:
        """Authenticate the rest of the file, up to and including its last chunk."""
        while not self._ended:
            self._next_chunk()
        self._plain = b""

    def _next_chunk(self) -> bytes:
        sealed, self._ahead = self._ahead, _read_full(self._source, self._size)
        final = not self._ahead
        if len(sealed) < _TAG:
            raise BackupError("The backup file is truncated.", code="backup_truncated")
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._index, final=final),
                                       sealed, self._aad)
        except InvalidTag as exc:
            raise self._failure(sealed, final=final) from exc
        self._index += 1
        self._ended = final
        return plain

    def _failure(self, sealed: bytes, *, final: bool) -> BackupError:
        if final:
            try:  # a chunk from the middle of the file where the last one should be
                self._aead.decrypt(_nonce(self._prefix, self._index, final=False),
                                   sealed, self._aad)
                return BackupError("The backup file is truncated.", code="backup_truncated")
            except InvalidTag:
                pass
        if self._index == 0:
            return BackupError("Wrong passphrase, or the backup file was altered.",
                               code="backup_unreadable")
        return _corrupt(f"chunk {self._index} does not authenticate")


def _corrupt(why: str) -> BackupError:
    return BackupError(f"The backup file was altered or damaged: {why}.", code="backup_corrupt")


def _read_full(source: BinaryIO, size: int) -> bytes:
    """`size` bytes, or fewer only at the end of the file (pipes may return short reads)."""
    data = b""
    while len(data) < size:
        more = source.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _parse_header(header: bytes) -> dict[str, int | bytes]:
    try:
        fields = json.loads(header)
        params: dict[str, int | bytes] = {name: int(fields[name]) for name in _LIMITS}
        params["salt"] = base64.b64decode(fields["salt"], validate=True)
        params["nonce"] = base64.b64decode(fields["nonce"], validate=True)
        kdf = fields["kdf"]
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise _corrupt("its header is damaged") from exc
    in_bounds = all(low <= int(params[name]) <= high for name, (low, high) in _LIMITS.items())
    n = int(params["n"])
    if kdf != "scrypt" or not in_bounds or n & (n - 1) or len(params["nonce"]) != _PREFIX \
            or len(params["salt"]) < _SALT:
        raise _corrupt("its header asks for unsupported parameters")
    return params
