"""Fixtures: a migrated database per backend, seeded once; each test rolls back.

Every test that takes `client` (or `connection`) runs once on SQLite and once
on PostgreSQL. Seed data (a centre, one account per role, a signing key and
their tokens) is committed once per session; what a test writes is rolled
back when it ends, so tests stay independent and fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from idsvc import migrations
from idsvc.app import create_app
from idsvc.audit.service import Actor
from idsvc.centres.service import create_centre
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import ensure_signing_key
from idsvc.db import make_engine, make_sessionmaker
from idsvc.staff.roles import Role
from idsvc.staff.service import create_staff, open_session
from tests.databases import scratch_database, selected_backends

ISSUER = "https://id.riverton.example"
PASSWORD = "correct horse battery staple"
ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.AUDITOR)


@dataclass
class SeededDatabase:
    backend: str
    url: str
    engine: Engine
    settings: Settings
    master_key: MasterKey
    tokens: dict[str, str] = field(default_factory=dict)
    centre_id: int | None = None


def settings_for(url: str, keys_dir: Path) -> Settings:
    # Demo mode: plain-http cookies for the test client and unencrypted test keys are fine
    # here; tests/test_settings.py checks what is refused without it.
    return Settings(database_url=url, keys_dir=keys_dir, issuer=ISSUER, cookie_secure=False,
                    data_key=None, verification_events="inline", change_poll_seconds=0,
                    demo=True)


@pytest.fixture(scope="session", autouse=True)
def demo_mode() -> Iterator[None]:
    """Settings read from the environment (CLI tests, servers in subprocesses) are in demo
    mode too, unless a test turns it off."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IDSVC_DEMO", "true")
        yield


@pytest.fixture(scope="session", params=selected_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededDatabase]:
    folder = tmp_path_factory.mktemp(backend)
    with scratch_database(backend, folder) as url:
        migrations.upgrade(url)
        engine = make_engine(url)
        db = SeededDatabase(backend, url, engine, settings_for(url, folder / "keys"),
                          MasterKey.from_secret(os.urandom(32)))
        with make_sessionmaker(engine)() as session:
            ensure_signing_key(session, keys_dir=db.settings.keys_dir)
            centre = create_centre(session, code="CENTRAL", name="Central",
                                   address="100 Main Street", actor=Actor.system())
            db.centre_id = centre.id
            for role in ROLES:
                staff = create_staff(session, username=str(role), password=PASSWORD, role=role,
                                     centre_id=centre.id, actor=Actor.system())
                db.tokens[str(role)], _ = open_session(session, staff=staff, kind="api",
                                                       lifetime=timedelta(hours=1))
            session.commit()
        yield db
        engine.dispose()


@pytest.fixture
def connection(database: SeededDatabase) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with database.engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


@pytest.fixture
def app(database: SeededDatabase, connection: Connection) -> FastAPI:
    # Each request's commit only releases a savepoint inside the test's transaction.
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    return create_app(database.settings, master_key=database.master_key, sessions=sessions)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def bearer(database: SeededDatabase, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {database.tokens[role]}"}


@pytest.fixture
def clerk(database: SeededDatabase) -> dict[str, str]:
    return bearer(database, "clerk")


@pytest.fixture
def admin(database: SeededDatabase) -> dict[str, str]:
    return bearer(database, "admin")


@pytest.fixture
def supervisor(database: SeededDatabase) -> dict[str, str]:
    return bearer(database, "supervisor")


@pytest.fixture
def auditor(database: SeededDatabase) -> dict[str, str]:
    return bearer(database, "auditor")


@pytest.fixture
def scratch_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's backend, for tests that must really commit."""
    with scratch_database(backend, tmp_path) as url:
        yield url
