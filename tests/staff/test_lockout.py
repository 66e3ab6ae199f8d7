"""Staff login back-off: the residents' rule (idsvc.abuse), on every staff login route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from idsvc import abuse
from idsvc.clock import utcnow
from idsvc.staff import service
from idsvc.staff.models import Staff
from tests.pages import post_form, staff_login

NAME = "lockable"
GOOD = "the right staff passphrase"
BAD = "not the passphrase at all"
REFUSAL = {"error": "invalid_credentials", "message": "Wrong username or password."}


@pytest.fixture
def session(connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s


@pytest.fixture
def account(client: TestClient, admin: dict[str, str]) -> str:
    r = client.post("/api/v1/staff", json={"username": NAME, "password": GOOD,
                                           "role": "clerk"}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def later(monkeypatch) -> Callable[[timedelta], None]:
    """Move the login clock forward (the back-off reads `utcnow` in the staff service)."""
    def move(by: timedelta) -> None:
        moment = utcnow() + by
        monkeypatch.setattr(service, "utcnow", lambda: moment)
    return move


def token_login(client: TestClient, password: str, username: str = NAME):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def counters(session: Session, staff_id: str) -> tuple[int, datetime | None]:
    session.expire_all()
    staff = session.get(Staff, staff_id)
    assert staff is not None
    return staff.failed_logins, staff.locked_until


def test_the_back_off_rule():
    assert [abuse.wait_after(n) for n in range(abuse.FREE_FAILURES + 1)] == [None] * 4
    assert abuse.wait_after(4) == timedelta(seconds=30)
    assert abuse.wait_after(5) == timedelta(seconds=60)
    assert abuse.wait_after(9) == timedelta(seconds=960)
    assert abuse.wait_after(10) == abuse.wait_after(25) == timedelta(days=1)


def test_failures_are_kept_and_lock_the_api_login(client, account, session, later):
    for _ in range(abuse.FREE_FAILURES):
        r = token_login(client, BAD)
        assert r.status_code == 401 and r.json() == REFUSAL
    assert counters(session, account) == (3, None)  # committed with the refusals
    assert token_login(client, BAD).status_code == 401  # the 4th: 30 seconds of back-off
    failures, locked_until = counters(session, account)
    assert failures == 4 and locked_until is not None
    assert timedelta(seconds=25) < locked_until - utcnow() <= timedelta(seconds=30)

    locked = token_login(client, GOOD)  # the right password, while locked
    assert locked.status_code == 401 and locked.json() == REFUSAL
    assert locked.headers["www-authenticate"] == token_login(client, BAD, "nobody").headers[
        "www-authenticate"]
    assert counters(session, account)[0] == 4  # tries while locked are not counted

    later(timedelta(seconds=31))
    assert token_login(client, BAD).status_code == 401  # the 5th: a minute now
    failures, locked_until = counters(session, account)
    assert failures == 5 and locked_until is not None
    later(timedelta(seconds=31 + 61))
    r = token_login(client, GOOD)
    assert r.status_code == 200 and r.json()["access_token"]
    assert counters(session, account) == (0, None)


def test_ten_failures_lock_for_a_day(client, account, session, later):
    staff = session.get(Staff, account)
    staff.failed_logins = abuse.LOCKOUT_FAILURES - 1
    session.add(staff)
    session.flush()
    assert token_login(client, BAD).status_code == 401
    failures, locked_until = counters(session, account)
    assert failures == 10
    assert locked_until is not None and locked_until - utcnow() > timedelta(hours=23, minutes=59)
    later(timedelta(hours=23))
    assert token_login(client, GOOD).status_code == 401
    later(timedelta(days=1, minutes=1))
    assert token_login(client, GOOD).status_code == 200


def test_the_page_login_and_the_cookie_login_count_too(client, account, session):
    for _ in range(2):
        r = post_form(client, "/staff/login", {"username": NAME, "password": BAD},
                      page="/staff/login")
        assert r.status_code == 401
    r = client.post("/api/v1/auth/session", data={"username": NAME, "password": BAD})
    assert r.status_code == 401 and r.json() == REFUSAL
    r = post_form(client, "/staff/login", {"username": NAME, "password": BAD},
                  page="/staff/login")
    assert r.status_code == 401
    assert counters(session, account)[0] == 4
    # Locked: the right password gets the page's usual "wrong password" answer.
    r = post_form(client, "/staff/login", {"username": NAME, "password": GOOD},
                  page="/staff/login")
    assert r.status_code == 401 and "idsvc_session" not in r.cookies
    assert client.post("/api/v1/auth/session", data={"username": NAME,
                                                      "password": GOOD}).status_code == 401


def test_an_administrators_password_reset_unlocks(client, account, session):
    staff = session.get(Staff, account)
    staff.failed_logins = abuse.LOCKOUT_FAILURES
    staff.locked_until = utcnow() + timedelta(days=1)
    session.add(staff)
    session.flush()
    assert token_login(client, GOOD).status_code == 401
    staff_login(client, "admin")
    r = post_form(client, f"/admin/staff/{account}/password",
                  {"password": "a brand new passphrase"}, page=f"/admin/staff/{account}")
    assert r.status_code == 303, r.text
    assert counters(session, account) == (0, None)
    assert token_login(client, "a brand new passphrase").status_code == 200


def test_unknown_names_count_nothing_and_answer_the_same(client, account, session):
    r = token_login(client, BAD, "nobody-here")
    assert r.status_code == 401 and r.json() == REFUSAL
    assert counters(session, account) == (0, None)
