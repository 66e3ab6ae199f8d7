"""Key files on disk: written owner-only, refused when others can read them.

The passphrase that opens encrypted key files is held here per keys directory, set once
at start-up (idsvc/crypto/startup.py): every reader and writer of a key file, in any
module, then finds it without each call having to carry it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


class KeyFileError(RuntimeError):
    """A key file is missing, unreadable, exposed to other users or will not open."""


_passphrases: dict[Path, bytes] = {}


def use_passphrase(keys_dir: Path, passphrase: bytes | None) -> None:
    """Key files under `keys_dir` are opened, and new ones encrypted, with `passphrase`."""
    if passphrase is None:
        _passphrases.pop(keys_dir.resolve(), None)
    else:
        _passphrases[keys_dir.resolve()] = passphrase


def passphrase_for(keys_dir: Path) -> bytes | None:
    return _passphrases.get(keys_dir.resolve())


def write_secret(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 from the first byte on (no window where it is readable)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def replace_secret(path: Path, data: bytes) -> None:
    """Put `data` at `path` all at once: after a crash the old file or the new one is
    there, whole, never a half-written key."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)  # left by an interrupted earlier attempt
    write_secret(temporary, data)
    os.replace(temporary, path)
    sync_dir(path.parent)


def move_secret(source: Path, target: Path) -> None:
    """Rename `source` over `target` at once (the old `target` is gone the same moment)."""
    os.replace(source, target)
    sync_dir(target.parent)


def sync_dir(folder: Path) -> None:
    """Make a rename in `folder` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems cannot sync a directory
            os.fsync(fd)
    finally:
        os.close(fd)


def read_secret(path: Path) -> bytes:
    """Read a private key file, refusing one that group or others may read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"Key file {path} does not exist.") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"Key file {path} is readable by other users (mode {stat.filemode(mode)}); "
            f"run: chmod 600 {path}"
        )
    return path.read_bytes()


def check_keys_dir(keys_dir: Path) -> None:
    """Refuse a keys directory others may write to: they could swap in their own key."""
    try:
        mode = keys_dir.stat().st_mode
    except FileNotFoundError:
        return  # nothing in it to protect yet; the first key file creates it
    if not stat.S_ISDIR(mode):
        raise KeyFileError(f"The keys directory {keys_dir} is not a directory.")
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KeyFileError(
            f"The keys directory {keys_dir} is writable by other users "
            f"(mode {stat.filemode(mode)}); run: chmod 700 {keys_dir}")
