"""The sealed file format: round trips, and every kind of damage is caught."""

from __future__ import annotations

import io
import json
import os

import pytest

from idsvc.backup.archive import (
    MAGIC,
    BackupError,
    Passphrase,
    SealedReader,
    SealedWriter,
    check_passphrase,
)

CHUNK = 1024
FAST_N = 2**14  # the least a reader accepts; the real files use 2**17
TAG = 16
GOOD = "four words make a passphrase"


@pytest.fixture(scope="module")
def secret() -> Passphrase:
    return Passphrase(GOOD)  # one derivation per header, cached


def seal(secret: Passphrase, plaintext: bytes) -> bytes:
    sink = io.BytesIO()
    writer = SealedWriter(sink, secret, chunk_size=CHUNK, kdf_n=FAST_N)
    for start in range(0, len(plaintext), 700):  # writes that straddle chunk boundaries
        writer.write(plaintext[start:start + 700])
    writer.close()
    return sink.getvalue()


def seal_default(secret: Passphrase, plaintext: bytes) -> bytes:
    sink = io.BytesIO()
    writer = SealedWriter(sink, secret)
    writer.write(plaintext)
    writer.close()
    return sink.getvalue()


def unseal(secret: Passphrase, sealed: bytes) -> bytes:
    reader = SealedReader(io.BytesIO(sealed), secret)
    out = reader.read(333) + reader.read()
    reader.finish()
    return out


def header_end(sealed: bytes) -> int:
    return len(MAGIC) + 2 + int.from_bytes(sealed[len(MAGIC):len(MAGIC) + 2], "big")


@pytest.fixture(scope="module")
def sample(secret: Passphrase) -> tuple[bytes, bytes]:
    plaintext = os.urandom(3 * CHUNK + 100)
    return plaintext, seal(secret, plaintext)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_round_trip_at_every_chunk_edge(secret, size):
    plaintext = os.urandom(size)
    sealed = seal(secret, plaintext)
    assert unseal(secret, sealed) == plaintext
    assert plaintext[:16] not in sealed[header_end(sealed):] or size < 16


def test_files_are_written_at_full_cost():
    sealed = seal_default(Passphrase(GOOD), b"x")
    header = json.loads(sealed[len(MAGIC) + 2:header_end(sealed)])
    assert (header["kdf"], header["n"], header["r"], header["p"]) == ("scrypt", 2**17, 8, 1)


def test_wrong_passphrase_says_so(sample):
    with pytest.raises(BackupError) as caught:
        unseal(Passphrase("another passphrase entirely"), sample[1])
    assert caught.value.code == "backup_unreadable"


def test_every_truncation_is_caught(secret, sample):
    _, sealed = sample
    for cut in range(len(sealed)):
        with pytest.raises(BackupError) as caught:
            unseal(secret, sealed[:cut])
        assert caught.value.code in {"not_a_backup", "backup_corrupt", "backup_truncated",
                                     "backup_unreadable"}
    boundary = header_end(sealed) + 2 * (CHUNK + TAG)
    with pytest.raises(BackupError) as caught:
        unseal(secret, sealed[:boundary])
    assert caught.value.code == "backup_truncated"


def test_a_flipped_bit_anywhere_in_the_chunks_is_caught(secret, sample):
    _, sealed = sample
    start = header_end(sealed)
    for position in range(start, len(sealed), 97):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x01
        with pytest.raises(BackupError):
            unseal(secret, bytes(damaged))


def test_changed_magic_or_header_is_refused(secret, sample):
    _, sealed = sample
    with pytest.raises(BackupError) as caught:
        unseal(secret, b"X" + sealed[1:])
    assert caught.value.code == "not_a_backup"
    header = sealed[len(MAGIC) + 2:header_end(sealed)]
    bigger = json.loads(header) | {"chunk": CHUNK * 2}
    forged = json.dumps(bigger, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(BackupError):
        unseal(secret, MAGIC + len(forged).to_bytes(2, "big") + forged
               + sealed[header_end(sealed):])


def test_reordered_repeated_or_appended_chunks_are_caught(secret, sample):
    _, sealed = sample
    start, size = header_end(sealed), CHUNK + TAG
    chunks = [sealed[i:i + size] for i in range(start, len(sealed), size)]
    head = sealed[:start]
    for variant in ([chunks[1], chunks[0], *chunks[2:]],
                    [chunks[0], chunks[0], *chunks[1:]],
                    [*chunks, chunks[-1]],
                    [*chunks[:-1], chunks[-2][:len(chunks[-1])]]):
        with pytest.raises(BackupError):
            unseal(secret, head + b"".join(variant))


def test_a_header_asking_for_huge_work_is_refused_before_deriving(secret):
    header = json.dumps({"kdf": "scrypt", "n": 2**30, "r": 8, "p": 1, "chunk": CHUNK,
                         "salt": "AAAAAAAAAAAAAAAAAAAAAA==", "nonce": "AAAAAAAAAA=="}).encode()
    with pytest.raises(BackupError) as caught:
        SealedReader(io.BytesIO(MAGIC + len(header).to_bytes(2, "big") + header), secret)
    assert caught.value.code == "backup_corrupt"


@pytest.mark.parametrize("weak", ["", "short", "aaaaaaaaaaaaaaaa", "abababababababab"])
def test_weak_passphrases_are_refused(weak):
    with pytest.raises(BackupError) as caught:
        check_passphrase(weak)
    assert caught.value.code == "weak_passphrase"
    check_passphrase(GOOD)
