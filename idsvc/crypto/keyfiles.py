"""Key files on disk: written owner-only, refused when others can read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class KeyFileError(RuntimeError):
    """A key file is missing, unreadable or exposed to other users."""


def write_secret(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 from the first byte on (no window where it is readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


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
