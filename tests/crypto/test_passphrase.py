"""Key files encrypted under a passphrase: data-key files (scrypt + AES-GCM) and PEM."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from idsvc.crypto import passphrase as locking
from idsvc.crypto.keyfiles import KeyFileError

PASSPHRASE = b"violet staple orbit lantern 42"


def test_a_locked_file_is_sealed_at_full_cost():
    locked = locking.lock(b"the key file", PASSPHRASE)
    kdf = json.loads(locked)["kdf"]
    assert (kdf["name"], kdf["n"], kdf["r"], kdf["p"]) == ("scrypt", 2**17, 8, 1)
    assert b"the key file" not in locked and locking.is_locked(locked)
    assert locking.unlock(locked, PASSPHRASE, name="data.key") == b"the key file"


@pytest.fixture
def fast_kdf(monkeypatch):
    monkeypatch.setattr(locking, "SCRYPT_N", 2**12)


def test_a_locked_file_opens_only_with_its_passphrase(fast_kdf):
    locked = locking.lock(b"the key file", PASSPHRASE)
    assert locking.unlock(locked, PASSPHRASE, name="data.key") == b"the key file"
    with pytest.raises(KeyFileError, match=r"passphrase does not open data\.key"):
        locking.unlock(locked, PASSPHRASE + b"!", name="data.key")
    with pytest.raises(KeyFileError, match="set IDSVC_KEY_PASSPHRASE"):
        locking.unlock(locked, None, name="data.key")
    assert locking.unlock(b"plain", None, name="data.key") == b"plain"


def test_an_altered_or_hostile_locked_file_is_refused(fast_kdf):
    fields = json.loads(locking.lock(b"the key file", PASSPHRASE))
    altered = {**fields, "ciphertext": fields["ciphertext"][:-4] + "AAA="}
    with pytest.raises(KeyFileError, match="does not open"):
        locking.unlock(json.dumps(altered).encode(), PASSPHRASE, name="k")
    greedy = {**fields, "kdf": {**fields["kdf"], "n": 2**30}}  # would take 1 TiB to open
    with pytest.raises(KeyFileError, match="unsupported"):
        locking.unlock(json.dumps(greedy).encode(), PASSPHRASE, name="k")
    with pytest.raises(KeyFileError, match="damaged"):
        locking.unlock(json.dumps({"idsvc": locking.LOCKED}).encode(), PASSPHRASE, name="k")


def test_signing_keys_are_standard_encrypted_pem():
    key = ec.generate_private_key(ec.SECP256R1())
    plain = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    locked = locking.lock_pem(plain, PASSPHRASE, name="signing-x.pem")
    assert locking.is_locked(locked) and not locking.is_locked(plain)
    # Any PKCS#8 reader (OpenSSL, this library) opens it with the passphrase.
    opened = serialization.load_pem_private_key(locked, password=PASSPHRASE)
    assert opened.private_numbers() == key.private_numbers()
    assert locking.load_pem(locked, PASSPHRASE, name="s").private_numbers() == \
        key.private_numbers()
    with pytest.raises(KeyFileError, match="passphrase does not open it"):
        locking.load_pem(locked, b"wrong passphrase here", name="s")
    with pytest.raises(KeyFileError, match="passphrase-encrypted"):
        locking.load_pem(locked, None, name="s")
    assert locking.load_pem(plain, PASSPHRASE, name="s").private_numbers() == \
        key.private_numbers()  # a plain key still opens while `idsvc keys encrypt` runs
