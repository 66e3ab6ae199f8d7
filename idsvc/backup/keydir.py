"""The keys directory in a backup: which files travel, and how they come back.

Every file at the top of IDSVC_KEYS_DIR travels as it is (signing keys, data.key, and
whatever other key files a deployment keeps there, passphrase-encrypted or not), except
hidden files and the README. A master key given in IDSVC_DATA_KEY does not travel: it
lives in the city's secret store, apart from the database and its backups (SECURITY.md,
section 5). Files come back owner-only and never over a different file of the same name.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from idsvc.backup.archive import BackupError
from idsvc.backup.bundle import is_key_name
from idsvc.config import Settings
from idsvc.crypto.envelope import DATA_KEY_FILE, NEXT_DATA_KEY_FILE
from idsvc.crypto.keyfiles import KeyFileError, read_secret, write_secret

README = "README.md"


def collect(settings: Settings, *, include_data_key: bool) -> tuple[dict[str, bytes], str]:
    """The files to back up, and what became of the master key: "file" (in the backup),
    "environment" or "left out" (kept apart, not in the backup) or "none"."""
    files: dict[str, bytes] = {}
    folder = settings.keys_dir
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        if not path.is_file() or path.name.startswith(".") or path.name == README:
            continue
        if not is_key_name(path.name):
            raise BackupError(f"The key file name {path.name!r} cannot be backed up: use "
                              "letters, digits, '.', '-' and '_'.", code="key_file_name")
        files[path.name] = _read(path)
    source = "file" if DATA_KEY_FILE in files else "none"
    if settings.data_key:
        source = "environment"
    if not include_data_key and DATA_KEY_FILE in files:
        for name in (DATA_KEY_FILE, NEXT_DATA_KEY_FILE):  # the second during a rotation
            files.pop(name, None)
        source = "left out"
    return files, source


def plan(settings: Settings, files: dict[str, bytes]) -> tuple[list[tuple[Path, bytes]],
                                                              list[str]]:
    """The files to write, and the names already there with the same content. A file of
    the same name with other content is refused: it may be a key that signed cards."""
    to_write, present = [], []
    for name, data in sorted(files.items()):
        if name == DATA_KEY_FILE and settings.data_key:
            continue  # IDSVC_DATA_KEY is what the service will use; checked after the load
        path = settings.keys_dir / name
        if not path.exists():
            to_write.append((path, data))
        elif hmac.compare_digest(_read(path), data):
            present.append(name)
        else:
            raise BackupError(f"{path} already exists and differs from the backup's copy. "
                              "Restore into an empty keys directory (IDSVC_KEYS_DIR).",
                              code="key_file_conflict")
    return to_write, present


def write(files: list[tuple[Path, bytes]]) -> list[Path]:
    """Write each file owner-only; on any failure remove the ones written and re-raise."""
    written: list[Path] = []
    try:
        for path, data in files:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_secret(path, data)
            written.append(path)
    except BaseException:
        remove(written)
        raise
    return written


def remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _read(path: Path) -> bytes:
    try:
        return read_secret(path)
    except KeyFileError as exc:
        raise BackupError(str(exc), code="key_file_unreadable") from exc
