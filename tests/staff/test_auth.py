"""Logins, tokens and who may do what."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.pages import csrf


def test_password_login_gives_a_working_token(client):
    r = client.post("/api/v1/auth/token", data={"username": "clerk", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/v1/staff/me",
                    headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["role"] == "clerk"


def test_wrong_password_and_unknown_user_look_the_same(client):
    wrong = client.post("/api/v1/auth/token", data={"username": "clerk", "password": "nope"})
    unknown = client.post("/api/v1/auth/token", data={"username": "ghost", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/staff/me"),
    ("post", "/api/v1/applications"),
    ("get", "/api/v1/cards/123456789012"),
    ("get", "/api/v1/policy/documents"),
    ("post", "/api/v1/staff"),
])
def test_unauthenticated_calls_get_401(client, method, path):
    r = getattr(client, method)(path)
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"


def test_bad_token_gets_401(client):
    r = client.get("/api/v1/staff/me", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_clerk_cannot_create_staff(client, clerk):
    r = client.post("/api/v1/staff", json={"username": "eve", "password": "x" * 16,
                                           "role": "admin"}, headers=clerk)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_admin_creates_staff_who_can_log_in(client, admin):
    r = client.post("/api/v1/staff", json={"username": "newclerk", "password": "a long passphrase",
                                           "role": "clerk"}, headers=admin)
    assert r.status_code == 201, r.text
    login = client.post("/api/v1/auth/token",
                        data={"username": "newclerk", "password": "a long passphrase"})
    assert login.status_code == 200


def test_weak_password_refused(client, admin):
    r = client.post("/api/v1/staff", json={"username": "weakling", "password": "weakling-1234",
                                           "role": "clerk"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"] == "weak_password"


def test_auditor_cannot_enroll_or_read_cards(client, auditor):
    assert client.post("/api/v1/applications", json={}, headers=auditor).status_code == 403
    assert client.get("/api/v1/cards/123456789012", headers=auditor).status_code == 403


def test_logout_ends_the_token(client):
    token = client.post("/api/v1/auth/token",
                        data={"username": "admin", "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 401


def test_page_session_cookie_is_httponly_strict_and_works(client):
    r = client.post("/api/v1/auth/session", data={"username": "clerk", "password": PASSWORD})
    assert r.status_code == 204
    cookie = r.headers["set-cookie"]
    assert "idsvc_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/v1/staff/me").json()["username"] == "clerk"
    # A change made with the cookie echoes the page's CSRF token (tests/web/test_page_security.py).
    assert client.post("/api/v1/auth/logout").status_code == 403
    assert client.post("/api/v1/auth/logout",
                       headers={"X-CSRF-Token": csrf(client)}).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/staff/me").status_code == 401


PUBLIC = {"/api/v1/auth/token", "/api/v1/auth/session", "/.well-known/jwks.json",
          "/status/{list_id}", "/api/v1/languages", "/offline-bundle.json",
          "/api/v1/benefits", "/api/v1/residents/activate", "/api/v1/residents/login",
          # Booking without an account (README, Appointments): counts and code-bearing posts.
          "/api/v1/appointments/centres", "/api/v1/appointments/centres/{centre_id}/slots",
          "/api/v1/appointments", "/api/v1/appointments/waitlist",
          "/api/v1/appointments/lookup", "/api/v1/appointments/move",
          "/api/v1/appointments/cancel",
          # A mailed card's holder, with the code from the letter (README, Card delivery).
          "/api/v1/cards/activate"}


def test_every_route_but_the_declared_public_ones_needs_login(app, client):
    checked = 0
    for template, operations in app.openapi()["paths"].items():
        if template in PUBLIC:
            continue
        path = template.replace("{", "").replace("}", "")
        for method in operations:
            r = client.request(method.upper(), path)
            assert r.status_code == 401, (method, template, r.status_code)
            checked += 1
    assert checked >= 15
