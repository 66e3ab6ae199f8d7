"""Readiness: can this worker serve? The database answers, the schema is at the newest
migration, the signing key opens, the data key is loaded, the status lists are in memory.

The checks run in a thread under a short timeout: a database that does not answer makes
the probe say "not ready" in `TIMEOUT_SECONDS`, not hang the load balancer's request. Only
one run is in flight per worker: probes that arrive meanwhile wait for it instead of
piling up threads behind a dead connection. Loading the status lists here warms a new
worker before the load balancer sends it partners.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from idsvc.crypto.keyring import active_signer
from idsvc.errors import DomainError
from idsvc.migrations import alembic_config
from idsvc.runtime import Runtime

log = logging.getLogger("idsvc.health")
TIMEOUT_SECONDS = 2.0
OK = "ok"
Checks = dict[str, str]


@lru_cache(maxsize=1)
def newest_migrations() -> frozenset[str]:
    """The head revisions this code ships (read once: it imports every migration)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _database(session: Session) -> str:
    if session.get_bind().dialect.name == "postgresql":  # a stuck query gives up too
        session.execute(text(f"SET LOCAL statement_timeout = {int(TIMEOUT_SECONDS * 1000)}"))
    session.execute(text("SELECT 1"))
    return OK


def _migrations(session: Session) -> str:
    current = set(MigrationContext.configure(session.connection()).get_current_heads())
    return OK if current == newest_migrations() else "behind"


def _signing_key(session: Session, runtime: Runtime) -> str:
    try:
        active_signer(session, keys_dir=runtime.settings.keys_dir)
    except DomainError as exc:  # none active, or its private key file is missing
        return exc.code
    return OK


def _status_lists(session: Session, runtime: Runtime) -> str:
    runtime.mirrors.follower.refresh(session)  # loads them on the first call
    return OK


def check(runtime: Runtime) -> Checks:
    """Every check, by name: "ok" or why not; a step that fails leaves the later ones
    "not checked". Never raises: a probe must answer."""
    checks: Checks = {"data_key": OK if runtime.master_key is not None else "missing"}
    steps: dict[str, Callable[[Session], str]] = {
        "database": _database,
        "migrations": _migrations,
        "signing_key": lambda session: _signing_key(session, runtime),
        "status_lists": lambda session: _status_lists(session, runtime),
    }
    name = "database"
    try:
        with runtime.read_sessions() as session:
            for name, step in steps.items():
                checks[name] = step(session)
            session.rollback()
    except Exception as exc:  # the database, a key file, anything: report, never raise
        checks[name] = f"failed ({type(exc).__name__})"  # the type only: no text, no URL
        log.warning("readiness check %s failed: %s", name, type(exc).__name__)
    for later in steps:
        checks.setdefault(later, "not checked")
    return checks


class ReadinessProbe:
    """One worker's probe: at most one run of the checks at a time."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._running: asyncio.Future[Checks] | None = None

    async def check(self) -> Checks:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(run_in_threadpool(check, self._runtime))
        try:
            return await asyncio.wait_for(asyncio.shield(self._running), TIMEOUT_SECONDS)
        except TimeoutError:
            return {"database": "timeout"}

    @staticmethod
    def ready(checks: Checks) -> bool:
        return all(value == OK for value in checks.values())
