"""How a failure of the database itself is answered: by what the driver says it was."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg import errors as pg
from sqlalchemy.exc import OperationalError

from idsvc.errors import database_failure


def _sqlite(code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("from the driver")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(("driver_error", "status", "code", "retry_after"), [
    (_sqlite(13), 507, "storage_full", None),                  # SQLITE_FULL
    (pg.DiskFull("could not extend file"), 507, "storage_full", None),
    (_sqlite(778), 503, "storage_error", "5"),                 # SQLITE_IOERR_WRITE
    (_sqlite(5), 503, "database_unavailable", "5"),            # SQLITE_BUSY
    (psycopg.OperationalError("connection refused"), 503, "database_unavailable", "5"),
    (pg.AdminShutdown("terminating connection"), 503, "database_unavailable", "5"),
])
def test_each_failure_gets_its_own_answer(driver_error, status, code, retry_after):
    failure = database_failure(OperationalError("INSERT ...", {}, driver_error))
    assert (failure.status_code, failure.code) == (status, code)
    assert (failure.headers() or {}).get("Retry-After") == retry_after
    assert "from the driver" not in failure.message
