"""A real server on a real port, for tests of what happens when requests overlap."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn

from idsvc import migrations
from idsvc.app import create_app
from idsvc.audit.service import Actor
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import ensure_signing_key
from idsvc.db import make_engine, make_sessionmaker
from idsvc.staff.roles import Role
from idsvc.staff.service import create_staff, open_session
from tests.conftest import PASSWORD, settings_for


@dataclass(frozen=True)
class LiveServer:
    url: str
    headers: dict[str, dict[str, str]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(url: str, keys_dir: Path) -> Iterator[LiveServer]:
    """Migrate `url`, add a clerk and an admin, serve the app from a thread."""
    headers = committed_staff(url, keys_dir)
    app = create_app(settings_for(url, keys_dir).model_copy(
        update={"verification_events": "batched"}),
        master_key=MasterKey.from_secret(os.urandom(32)))
    with serving(app) as base_url:
        yield LiveServer(base_url, headers)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn from a thread on a free port; its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def committed_staff(url: str, keys_dir: Path, roles: tuple[Role, ...] = (Role.CLERK, Role.ADMIN)
                    ) -> dict[str, dict[str, str]]:
    """Migrate `url`, add a signing key and one account per role, committed; their headers."""
    migrations.upgrade(url)
    engine = make_engine(url)
    headers = {}
    with make_sessionmaker(engine)() as session:
        ensure_signing_key(session, keys_dir=keys_dir)
        for role in roles:
            staff = create_staff(session, username=str(role), password=PASSWORD, role=role,
                                 centre_id=None, actor=Actor.system())
            token, _ = open_session(session, staff=staff, kind="api",
                                    lifetime=timedelta(hours=1))
            headers[str(role)] = {"Authorization": f"Bearer {token}"}
        session.commit()
    engine.dispose()
    return headers
