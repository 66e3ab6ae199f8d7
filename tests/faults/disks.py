"""A disk that runs full under a SQLite server, and is freed again.

`Tmpfs` is the real thing (the kernel answers ENOSPC, SQLite says SQLITE_FULL): a small
tmpfs mounted for the test, filled by shrinking it to what is used plus `headroom` and
freed by growing it, while the server keeps running. Mounting needs root.
`FileSizeLimit` works for anyone: the server is restarted under RLIMIT_FSIZE, so no file
may grow past `headroom` bytes (the kernel answers EFBIG, as for a disk quota, and SQLite
says SQLITE_IOERR_WRITE); it is freed by a restart without the limit.

Either way the WAL is emptied first (so `headroom` is what the server may still write),
and the database stays open in the test (as a second worker would hold it): SQLite needs
room for its -wal and -shm files to open a database at all, so a lone server started on
a full disk could not even read.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from tests.faults.server import Server

ROOMY = 256 * 1024 * 1024
DATABASE = "idsvc.db"


class _Disk:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._holder: sqlite3.Connection | None = None

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / DATABASE}"

    def _empty_wal(self) -> None:
        """Hold the database open and move the WAL into it, so the WAL grows from nothing."""
        if self._holder is None:
            self._holder = sqlite3.connect(self.folder / DATABASE, isolation_level=None)
        busy, _, _ = self._holder.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the WAL could not be emptied"

    def close(self) -> None:
        if self._holder is not None:
            self._holder.close()


class Tmpfs(_Disk):
    refusal = (507, "storage_full")

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._mount("-t", "tmpfs", "-o", f"size={ROOMY // 1024}k,mode=0700", "tmpfs")

    def _mount(self, *args: str) -> None:
        subprocess.run(["mount", *args, str(self.folder)], check=True, capture_output=True)

    def _used(self) -> int:
        stat = os.statvfs(self.folder)
        return (stat.f_blocks - stat.f_bfree) * stat.f_frsize

    def fill(self, server: Server, *, headroom: int) -> None:
        """Leave about `headroom` bytes free for the server to write."""
        self.free(server)  # emptying the WAL moves its pages into the database file
        self._empty_wal()
        self._mount("-o", f"remount,size={(self._used() + headroom) // 1024}k")

    def free(self, server: Server) -> None:
        self._mount("-o", f"remount,size={ROOMY // 1024}k")

    def close(self) -> None:
        super().close()
        subprocess.run(["umount", "-l", str(self.folder)], check=False, capture_output=True)


class FileSizeLimit(_Disk):
    refusal = (503, "storage_error")

    def fill(self, server: Server, *, headroom: int) -> None:
        """No file may grow past `headroom` bytes: the empty WAL may take that much."""
        server.stop()
        self._empty_wal()
        server.start(max_file_bytes=headroom)

    def free(self, server: Server) -> None:
        server.restart()
