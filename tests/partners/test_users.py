"""Partner desk users: the administrators' API, the service rules and the CLI command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from idsvc.app import create_app
from idsvc.audit.models import AuditEvent
from idsvc.audit.service import Actor
from idsvc.cli import app as cli
from idsvc.config import get_settings
from idsvc.errors import Unauthorized
from idsvc.partners import users
from idsvc.partners.models import Partner, PartnerSession
from tests.conftest import PASSWORD
from tests.factories import partner_headers
from tests.pages import csrf

DESK_PASSWORD = "a long desk passphrase"


def new_partner(client: TestClient, admin: dict[str, str], kind: str = "law_enforcement",
                name: str | None = None) -> dict:
    r = client.post("/api/v1/partners", json={"name": name or f"{kind} desk", "kind": kind},
                    headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def new_desk_user(client: TestClient, admin: dict[str, str], partner_id: int,
                  username: str = "desk1", password: str = DESK_PASSWORD) -> dict:
    r = client.post(f"/api/v1/partners/{partner_id}/users",
                    json={"username": username, "password": password}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def session(connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s


def _last_audit_id(session: Session) -> int:
    return session.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first() or 0


def test_admin_creates_lists_and_deactivates_desk_users(client, admin, session):
    start = _last_audit_id(session)
    partner = new_partner(client, admin)
    created = new_desk_user(client, admin, partner["id"])
    assert set(created) == {"id", "partner_id", "username", "active", "created_at"}
    assert created["active"] is True and created["partner_id"] == partner["id"]

    listed = client.get(f"/api/v1/partners/{partner['id']}/users", headers=admin)
    assert listed.status_code == 200
    assert [u["username"] for u in listed.json()] == ["desk1"]
    assert "hash" not in listed.text and "argon2" not in listed.text
    assert DESK_PASSWORD not in listed.text

    gone = client.delete(f"/api/v1/partners/{partner['id']}/users/{created['id']}", headers=admin)
    assert gone.status_code == 204
    assert client.get(f"/api/v1/partners/{partner['id']}/users",
                      headers=admin).json()[0]["active"] is False
    rows = session.exec(select(AuditEvent).where(AuditEvent.id > start)
                        .order_by(AuditEvent.id)).all()
    desk_rows = [(r.action, r.actor_type, r.subject_id) for r in rows
                 if r.subject_type == "partner_user"]
    assert desk_rows == [("partner_user.create", "staff", str(created["id"])),
                         ("partner_user.deactivate", "staff", str(created["id"]))]
    assert all(DESK_PASSWORD not in r.details and "desk1" not in r.details for r in rows)


def test_usernames_are_unique_across_partners(client, admin):
    first = new_partner(client, admin, name="Police")
    second = new_partner(client, admin, kind="library", name="Library")
    new_desk_user(client, admin, first["id"], username="frontdesk")
    r = client.post(f"/api/v1/partners/{second['id']}/users",
                    json={"username": "frontdesk", "password": DESK_PASSWORD}, headers=admin)
    assert r.status_code == 409 and r.json()["error"] == "username_taken"


@pytest.mark.parametrize("password", ["short", "desk1 is my name here"])
def test_weak_passwords_are_refused(client, admin, password):
    partner = new_partner(client, admin)
    r = client.post(f"/api/v1/partners/{partner['id']}/users",
                    json={"username": "desk1", "password": password}, headers=admin)
    assert r.status_code == 422 and r.json()["error"] == "weak_password"
    assert client.get(f"/api/v1/partners/{partner['id']}/users", headers=admin).json() == []


def test_unknown_fields_and_partners_are_refused(client, admin):
    partner = new_partner(client, admin)
    r = client.post(f"/api/v1/partners/{partner['id']}/users",
                    json={"username": "desk1", "password": DESK_PASSWORD, "role": "admin"},
                    headers=admin)
    assert r.status_code == 422 and r.json()["error"] == "unknown_field"
    r = client.post("/api/v1/partners/999999/users",
                    json={"username": "desk1", "password": DESK_PASSWORD}, headers=admin)
    assert r.status_code == 404
    r = client.delete(f"/api/v1/partners/{partner['id']}/users/999999", headers=admin)
    assert r.status_code == 404


def test_another_partners_user_cannot_be_deactivated_through_this_partner(client, admin):
    mine = new_partner(client, admin, name="Police")
    theirs = new_partner(client, admin, kind="bank", name="Bank")
    user = new_desk_user(client, admin, theirs["id"])
    r = client.delete(f"/api/v1/partners/{mine['id']}/users/{user['id']}", headers=admin)
    assert r.status_code == 404
    assert client.get(f"/api/v1/partners/{theirs['id']}/users",
                      headers=admin).json()[0]["active"] is True


def test_only_administrators_manage_desk_users(client, admin, clerk, supervisor, auditor):
    partner = new_partner(client, admin)
    user = new_desk_user(client, admin, partner["id"])
    key = partner_headers(client, admin, kind="bank", name="Bank with a key")
    body = {"username": "desk2", "password": DESK_PASSWORD}
    base = f"/api/v1/partners/{partner['id']}/users"
    for headers, status in ((clerk, 403), (supervisor, 403), (auditor, 403), (key, 401), ({}, 401)):
        assert client.post(base, json=body, headers=headers).status_code == status
        assert client.get(base, headers=headers).status_code == status
        assert client.delete(f"{base}/{user['id']}", headers=headers).status_code == status


def test_deactivating_ends_open_sessions(client, admin, session):
    partner = new_partner(client, admin)
    user = new_desk_user(client, admin, partner["id"])
    r = client.post("/partner/login", data={"username": "desk1", "password": DESK_PASSWORD,
                                            "csrf_token": csrf(client, "/partner/login")},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/partner/", follow_redirects=False).status_code == 200
    assert session.exec(select(PartnerSession)
                        .where(PartnerSession.user_id == user["id"])).all()
    client.delete(f"/api/v1/partners/{partner['id']}/users/{user['id']}", headers=admin)
    assert session.exec(select(PartnerSession)
                        .where(PartnerSession.user_id == user["id"])).all() == []
    assert client.get("/partner/", follow_redirects=False).headers["location"].startswith(
        "/partner/login")


def test_service_login_refuses_everything_with_one_answer(client, admin, session):
    partner_id = new_partner(client, admin)["id"]
    new_desk_user(client, admin, partner_id)
    partner = session.get(Partner, partner_id)
    user = users.authenticate(session, username="desk1", password=DESK_PASSWORD)
    token = users.open_session(session, user=user, lifetime=timedelta(hours=1))
    assert session.get(PartnerSession, token) is None  # only a hash is stored
    assert users.user_for_token(session, token, idle=timedelta(minutes=5))[0].id == user.id
    messages = set()
    for name, password in (("nobody", DESK_PASSWORD), ("desk1", PASSWORD)):
        with pytest.raises(Unauthorized) as refused:
            users.authenticate(session, username=name, password=password)
        messages.add((refused.value.code, refused.value.message))
    partner.active = False
    session.add(partner)
    session.flush()
    with pytest.raises(Unauthorized) as refused:
        users.authenticate(session, username="desk1", password=DESK_PASSWORD)
    messages.add((refused.value.code, refused.value.message))
    with pytest.raises(Unauthorized):
        users.user_for_token(session, token, idle=timedelta(minutes=5))
    partner.active = True
    users.deactivate_partner_user(session, partner=partner, user_id=user.id,
                                  actor=Actor.system())
    with pytest.raises(Unauthorized) as refused:
        users.authenticate(session, username="desk1", password=DESK_PASSWORD)
    messages.add((refused.value.code, refused.value.message))
    assert messages == {("invalid_credentials", "Wrong username or password.")}


def test_cli_creates_a_desk_user_who_can_log_in(scratch_url, tmp_path, monkeypatch):
    monkeypatch.setenv("IDSVC_DATABASE_URL", scratch_url)
    monkeypatch.setenv("IDSVC_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("IDSVC_COOKIE_SECURE", "false")
    monkeypatch.delenv("IDSVC_DATA_KEY", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        for args in (["db", "upgrade"], ["keys", "generate"]):
            assert runner.invoke(cli, args).exit_code == 0
        made = runner.invoke(cli, ["partner", "create", "Riverton Library", "--kind", "library"])
        partner_id = made.output.split()[1]
        prompted = runner.invoke(cli, ["partner", "user-create", partner_id, "librarian"],
                                 input=f"{DESK_PASSWORD}\n{DESK_PASSWORD}\n")
        assert prompted.exit_code == 0, prompted.output
        assert DESK_PASSWORD not in prompted.output.replace("Password", "")
        weak = runner.invoke(cli, ["partner", "user-create", partner_id, "clerk2",
                                   "--password", "short"])
        assert weak.exit_code == 1 and "weak_password" in weak.output
        assert runner.invoke(cli, ["partner", "user-create", "999", "x", "--password",
                                   DESK_PASSWORD]).exit_code == 1
        with TestClient(create_app(get_settings())) as client:
            r = client.post("/partner/login",
                            data={"username": "librarian", "password": DESK_PASSWORD,
                                  "csrf_token": csrf(client, "/partner/login")},
                            follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/partner/"
    finally:
        get_settings.cache_clear()
