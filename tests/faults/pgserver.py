"""A throwaway PostgreSQL cluster of the test's own, to stop and start under load.

The shared server on port 5432 serves every other test: restarting it would break them.
This one lives in a temporary folder on a free port and is removed afterwards. As root,
its commands run as the `postgres` user (the server refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.faults.server import free_port

BIN = Path(os.environ.get("IDSVC_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> bool:
    return (BIN / "initdb").exists() and (os.geteuid() != 0 or shutil.which("runuser")
                                          is not None)


def _as_owner() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass(frozen=True)
class Cluster:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run([*_as_owner(), str(BIN / "pg_ctl"), "-D", str(self.folder / "data"),
                        "-l", str(self.folder / "log"), "-w", "-t", "60", *args],
                       check=True, capture_output=True, timeout=90)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c full_page_writes=off", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session, rolling back what is open; `immediate` is a crash."""
        self._ctl("-m", mode, "stop")


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """initdb in a temporary folder, started on a free port; stopped and removed after."""
    folder = Path(tempfile.mkdtemp(prefix="idsvc-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(folder, free_port())
    try:
        subprocess.run([*_as_owner(), str(BIN / "initdb"), "-D", str(folder / "data"),
                        "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120)
        cluster.start()
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):  # it was not running
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
