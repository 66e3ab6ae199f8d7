"""A throwaway PostgreSQL primary and streaming replica (pg_basebackup -R) on free ports.

Both run as the `postgres` OS user from a temporary directory of their own, and never
touch the shared server on 5432. Tests run as root, hence `runuser`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "idsvc"


def available() -> bool:
    return (BIN / "pg_basebackup").exists() and shutil.which("runuser") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*args: str | Path) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], check=True,
                   capture_output=True, timeout=120)


@dataclass
class Server:
    data: Path
    port: int
    sockets: Path

    def start(self) -> None:
        _as_postgres(BIN / "pg_ctl", "-D", self.data, "-l", self.data / "server.log", "-w",
                     "-o", f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1",
                     "start")

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def conninfo(self, database: str = DATABASE) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def scalar(self, sql: str, database: str = DATABASE) -> object:
        with psycopg.connect(self.conninfo(database), autocommit=True) as conn:
            cursor = conn.execute(sql)
            row = cursor.fetchone() if cursor.description else None
            return None if row is None else row[0]


@dataclass
class Cluster:
    primary: Server
    replica: Server

    def pause_replay(self) -> None:
        self.replica.scalar("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.replica.scalar("SELECT pg_wal_replay_resume()")

    def wait_for_replay(self, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        target = self.primary.scalar("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.replica.scalar(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
                return
            time.sleep(0.05)
        raise TimeoutError(f"the replica did not replay up to {target}")


@contextmanager
def streaming_cluster() -> Iterator[Cluster]:
    """initdb a primary, create the `idsvc` database, clone a hot standby; stop and delete."""
    base = Path(tempfile.mkdtemp(prefix="idsvc-replication-"))
    shutil.chown(base, "postgres", "postgres")
    primary = Server(base / "primary", _free_port(), base)
    replica = Server(base / "replica", _free_port(), base)
    started: list[Server] = []
    try:
        _as_postgres(BIN / "initdb", "-D", primary.data, "-U", "postgres", "--auth=trust",
                     "--no-sync", "-E", "UTF8")
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write("fsync = off\nsynchronous_commit = on\nwal_level = replica\n")
        primary.start()
        started.append(primary)
        primary.scalar(f'CREATE DATABASE "{DATABASE}"', database="postgres")
        _as_postgres(BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port),
                     "-U", "postgres", "-D", replica.data, "-R", "-X", "stream",
                     "-c", "fast")
        replica.start()
        started.append(replica)
        cluster = Cluster(primary, replica)
        cluster.wait_for_replay()
        yield cluster
    finally:
        for server in reversed(started):
            with suppress(subprocess.CalledProcessError):  # a test may have stopped it
                server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
