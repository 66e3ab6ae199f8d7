"""Test databases on each backend: SQLite files and throwaway PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

# The server CI starts; override to point elsewhere.
POSTGRES_URL = os.environ.get("IDSVC_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def selected_backends() -> list[str]:
    """Both by default; IDSVC_TEST_BACKENDS=sqlite on a machine without PostgreSQL."""
    chosen = os.environ.get("IDSVC_TEST_BACKENDS", "sqlite,postgresql")
    return [b.strip() for b in chosen.split(",") if b.strip()]


def _admin_conninfo() -> str:
    url = make_url(POSTGRES_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def scratch_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty database for one test or session, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'idsvc-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"idsvc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
