"""Every private key file in the keys directory, checked together and encrypted together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from idsvc.crypto import passphrase as locking
from idsvc.crypto.envelope import DATA_KEY_FILE, NEXT_DATA_KEY_FILE, read_key_file
from idsvc.crypto.keyfiles import (
    KeyFileError,
    check_keys_dir,
    passphrase_for,
    read_secret,
    replace_secret,
)
from idsvc.crypto.keyring import SIGNING_KEY_GLOB


def private_key_files(keys_dir: Path) -> list[Path]:
    """The data-key files and signing keys (not the README or anything else there)."""
    if not keys_dir.is_dir():
        return []
    data = [keys_dir / name for name in (DATA_KEY_FILE, NEXT_DATA_KEY_FILE)
            if (keys_dir / name).exists()]
    return data + sorted(keys_dir.glob(SIGNING_KEY_GLOB))


def _is_signing_key(path: Path) -> bool:
    return path.suffix == ".pem"


@dataclass(frozen=True)
class KeyFilesReport:
    files: int
    unencrypted: list[Path]


def inspect(keys_dir: Path) -> KeyFilesReport:
    """Open every private key file as the service would: refuses a keys directory others
    may write to, a key file others may read, and a missing or wrong passphrase."""
    check_keys_dir(keys_dir)
    passphrase = passphrase_for(keys_dir)
    files = private_key_files(keys_dir)
    unencrypted = []
    for path in files:
        content = read_secret(path)
        if not locking.is_locked(content):
            unencrypted.append(path)
        if _is_signing_key(path):
            locking.load_pem(content, passphrase, name=str(path))
        else:
            read_key_file(path)
    return KeyFilesReport(len(files), unencrypted)


def encrypt_all(keys_dir: Path) -> list[Path]:
    """Encrypt every plain private key file in place under the keys directory's passphrase;
    each file is replaced at once, so an interruption leaves each whole, old or new."""
    passphrase = passphrase_for(keys_dir)
    if passphrase is None:
        raise KeyFileError(f"No key passphrase: {locking.NO_PASSPHRASE}.")
    done = []
    for path in inspect(keys_dir).unencrypted:
        content = read_secret(path)
        if _is_signing_key(path):
            locked = locking.lock_pem(content, passphrase, name=str(path))
        else:
            locked = locking.lock(content, passphrase)
        replace_secret(path, locked)
        done.append(path)
    return done
