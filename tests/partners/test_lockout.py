"""Partner desk login back-off: the same rule as residents and staff (idsvc.abuse)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from idsvc import abuse
from idsvc.audit.models import AuditEvent
from idsvc.audit.service import Actor
from idsvc.clock import utcnow
from idsvc.errors import Unauthorized
from idsvc.partners import users
from idsvc.partners.models import PartnerUser
from tests.pages import post_form
from tests.partners.test_users import DESK_PASSWORD, new_desk_user, new_partner

BAD = "surely not the desk passphrase"


@pytest.fixture
def session(connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s


@pytest.fixture
def desk(client: TestClient, admin: dict[str, str]) -> int:
    return new_desk_user(client, admin, new_partner(client, admin)["id"])["id"]


def page_login(client: TestClient, password: str, username: str = "desk1"):
    return post_form(client, "/partner/login", {"username": username, "password": password},
                     page="/partner/login")


def same_page(one: str, other: str) -> bool:
    """Equal but for the username echoed in the form and the form's token."""
    def blank(html: str) -> str:
        return re.sub(r'value="[^"]*"', 'value=""', html)
    return blank(one) == blank(other)


def counters(session: Session, user_id: int) -> tuple[int, object]:
    session.expire_all()
    user = session.get(PartnerUser, user_id)
    assert user is not None
    return user.failed_logins, user.locked_until


def test_desk_failures_are_kept_and_lock_the_login(client, desk, session, monkeypatch):
    refused = page_login(client, BAD, "nobody")
    assert refused.status_code == 401
    for _ in range(abuse.FREE_FAILURES + 1):
        assert page_login(client, BAD).status_code == 401
    failures, locked_until = counters(session, desk)
    assert failures == 4 and locked_until is not None and locked_until > utcnow()

    locked = page_login(client, DESK_PASSWORD)  # right password, locked: the same answer
    assert locked.status_code == 401 and "idsvc_partner" not in locked.cookies
    assert same_page(locked.text, refused.text)
    assert counters(session, desk)[0] == 4

    moment = utcnow() + timedelta(seconds=31)
    monkeypatch.setattr(users, "utcnow", lambda: moment)
    opened = page_login(client, DESK_PASSWORD)
    assert opened.status_code == 303 and opened.headers["location"] == "/partner/"
    assert counters(session, desk) == (0, None)


def test_a_password_reset_unlocks_a_desk_user(client, desk, session):
    user = session.get(PartnerUser, desk)
    user.failed_logins, user.locked_until = abuse.LOCKOUT_FAILURES, utcnow() + timedelta(days=1)
    session.add(user)
    session.flush()
    assert page_login(client, DESK_PASSWORD).status_code == 401
    users.set_password(session, user=user, password="another desk passphrase",
                       actor=Actor.system())
    session.flush()
    assert counters(session, desk) == (0, None)
    assert page_login(client, "another desk passphrase").status_code == 303


def test_the_service_returns_the_refusal_so_the_count_commits(session, client, desk):
    outcome = users.log_in(session, username="desk1", password=BAD)
    assert isinstance(outcome, Unauthorized) and outcome.code == "invalid_credentials"
    assert counters(session, desk)[0] == 1
    assert users.log_in(session, username="desk1", password=DESK_PASSWORD).id == desk
    assert counters(session, desk) == (0, None)


def test_an_admin_resets_a_locked_desk_users_password_through_the_api(client, admin, desk,
                                                                      session):
    user = session.get(PartnerUser, desk)
    user.failed_logins, user.locked_until = abuse.LOCKOUT_FAILURES, utcnow() + timedelta(days=1)
    session.add(user)
    session.flush()
    url = f"/api/v1/partners/{user.partner_id}/users/{desk}/password"
    weak = client.put(url, json={"password": "short"}, headers=admin)
    assert weak.status_code == 422 and weak.json()["error"] == "weak_password"
    assert client.put(url, json={"password": "x" * 20, "role": "admin"},
                      headers=admin).status_code == 422  # unknown fields are refused
    other = client.put(f"/api/v1/partners/{user.partner_id}/users/999999/password",
                       json={"password": "another desk passphrase"}, headers=admin)
    assert other.status_code == 404
    reset = client.put(url, json={"password": "another desk passphrase"}, headers=admin)
    assert reset.status_code == 204
    assert counters(session, desk) == (0, None)
    assert page_login(client, "another desk passphrase").status_code == 303
    session.expire_all()
    audit = session.exec(select(AuditEvent).where(
        AuditEvent.action == "partner_user.password_reset")).all()
    assert [event.subject_id for event in audit][-1] == str(desk)
