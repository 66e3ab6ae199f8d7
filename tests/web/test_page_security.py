"""Every page route, walked from the app itself: a change needs the CSRF token, a private
page needs the right kind of login. A new route that forgets either fails here.

The public pages are declared below, as tests/staff/test_auth.py does for the API: making
a page public is a decision written down in this file, never an accident.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from idsvc.partners.pages import COOKIE as PARTNER_COOKIE
from idsvc.residents import accounts
from idsvc.residents.pages import RESIDENT_COOKIE
from idsvc.staff.deps import SESSION_COOKIE
from idsvc.web.csrf import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER
from idsvc.web.errors import MACHINE_PREFIXES
from tests.conftest import PASSWORD
from tests.factories import enroll_and_approve
from tests.pages import csrf, post_form, staff_login
from tests.partners.test_users import DESK_PASSWORD, new_desk_user, new_partner

# Not pages: machine routes answer JSON (or files) to API clients and verifiers.
SAFE = {"GET", "HEAD", "OPTIONS"}

# Pages anyone may open or post to (a change still needs the CSRF token).
PUBLIC_PAGES = {
    ("GET", "/"), ("POST", "/language"), ("GET", "/benefits"),
    ("GET", "/staff/login"), ("POST", "/staff/login"), ("POST", "/staff/logout"),
    ("GET", "/partner/login"), ("POST", "/partner/login"), ("POST", "/partner/logout"),
    ("GET", "/partner/sw.js"),
    ("GET", "/resident/login"), ("POST", "/resident/login"),
    ("GET", "/resident/activate"), ("POST", "/resident/activate"),
    ("GET", "/card/activate"), ("POST", "/card/activate"),  # a mailed card, by its code
    # Appointments: booked, waited for and managed by code, with no account.
    ("GET", "/appointments"), ("GET", "/appointments/centres/{centre_id}"),
    ("POST", "/appointments/centres/{centre_id}"), ("GET", "/appointments/waitlist"),
    ("POST", "/appointments/waitlist"), ("GET", "/appointments/manage"),
    ("POST", "/appointments/manage"), ("POST", "/appointments/manage/move"),
    ("POST", "/appointments/manage/cancel"),
}
# Page routes the scanner script calls: they answer JSON, so a missing login is a 401.
JSON_PAGE_ROUTES = {"/partner/verify", "/partner/redemptions"}
LOGIN_OF = {"/clerk": "/staff/login", "/admin": "/staff/login",
            "/partner": "/partner/login", "/resident": "/resident/login"}
# Auditors read aggregate reports, and nothing else an administrator manages.
AUDITOR_PAGES = {"/admin/", "/admin/reports", "/admin/reports/{name}.csv"}
# Path parameters: any well-formed value will do (the refusals come before the lookup).
SAMPLES = {"partner_id": "1", "key_id": "1", "user_id": "1", "benefit_id": "1",
           "staff_id": "0" * 32, "kid": "no-such-kid", "application_id": "0" * 32,
           "number": "123456789012", "action": "revoke", "name": "cards-issued",
           "centre_id": "1", "closure_id": "1"}


def page_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every page route."""
    found = set()
    for route in iter_route_contexts(app.routes):  # included routers' routes too
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not path or not methods or path.startswith(MACHINE_PREFIXES):
            continue
        found.update((method, path) for method in methods if method != "HEAD")
    return sorted(found, key=lambda item: (item[1], item[0]))


def url(template: str) -> str:
    return template.format(**SAMPLES)


def area(path: str) -> str | None:
    return next((prefix for prefix in LOGIN_OF
                 if path == prefix or path.startswith(prefix + "/")), None)


def _fresh_csrf(client: TestClient) -> str:
    client.cookies.clear()
    return csrf(client)


# --- CSRF ---------------------------------------------------------------------------------

def test_the_declared_public_pages_exist(app):
    routes = set(page_routes(app))
    assert routes >= PUBLIC_PAGES, PUBLIC_PAGES - routes


def test_every_page_change_refuses_a_post_without_the_csrf_token(app, client):
    changes = [(m, p) for m, p in page_routes(app) if m not in SAFE]
    assert len(changes) >= 35, changes
    problems = []
    for method, template in changes:
        target = url(template)
        token = _fresh_csrf(client)  # the browser holds the cookie, the attacker not the value
        attempts = {
            "no token": {"data": {"x": "1"}},
            "forged header": {"headers": {CSRF_HEADER: "forged"}, "json": {}},
            "forged field": {"data": {CSRF_FIELD: "forged"}},
            "empty field": {"data": {CSRF_FIELD: ""}},
        }
        for name, extra in attempts.items():
            r = client.request(method, target, follow_redirects=False, **extra)
            if r.status_code != 403:
                problems.append((method, template, name, r.status_code))
        # A token without its cookie (a page of another site cannot set it) is refused too.
        client.cookies.delete(CSRF_COOKIE)
        r = client.request(method, target, data={CSRF_FIELD: token}, follow_redirects=False)
        if r.status_code != 403:
            problems.append((method, template, "no cookie", r.status_code))
        # The control: with the token the request gets past the check (to the login, or
        # to the form's own validation), so the refusals above were the CSRF check's.
        token = _fresh_csrf(client)
        r = client.request(method, target, data={CSRF_FIELD: token}, follow_redirects=False)
        if r.status_code == 403:
            problems.append((method, template, "refused with the token", r.status_code))
    assert problems == []


def test_the_scanner_json_routes_take_the_token_from_the_header(client):
    token = _fresh_csrf(client)
    for path in sorted(JSON_PAGE_ROUTES):
        refused = client.post(path, json={"card_number": "123456789012"})
        assert refused.status_code == 403, path
        anonymous = client.post(path, json={"card_number": "123456789012"},
                                headers={CSRF_HEADER: token})
        assert anonymous.status_code == 401 and anonymous.json()["error"] == \
            "not_authenticated", path


def test_logged_in_users_are_held_to_the_token_too(app, client, logins):
    """A session cookie is what a forged form rides on: with every kind logged in at once,
    no change goes through without the token."""
    for cookie, token in logins.items():
        client.cookies.set(cookie, token)
    client.get("/")
    for method, template in page_routes(app):
        if method in SAFE:
            continue
        r = client.request(method, url(template), data={"x": "1"}, follow_redirects=False)
        assert r.status_code == 403, (method, template, r.status_code)
    for cookie, token in logins.items():  # nothing was logged out by the refused posts
        client.cookies.set(cookie, token)
    assert client.get("/admin/", follow_redirects=False).status_code == 200


# --- who may open what --------------------------------------------------------------------

def _private_pages(app: FastAPI) -> list[str]:
    pages = [p for m, p in page_routes(app)
             if m == "GET" and area(p) is not None and (m, p) not in PUBLIC_PAGES]
    assert len(pages) >= 30, pages
    return pages


def test_anonymous_visitors_are_sent_to_the_right_login(app, client):
    problems = []
    for template in _private_pages(app):
        client.cookies.clear()
        target = url(template)
        r = client.get(target, follow_redirects=False)
        expected = f"{LOGIN_OF[area(template)]}?next={quote(target, safe='')}"
        if r.status_code != 303 or r.headers.get("location") != expected:
            problems.append((template, r.status_code, r.headers.get("location")))
    assert problems == []


def _resident_login(client: TestClient, clerk: dict[str, str]) -> tuple[str, str]:
    """Enroll, activate and log in a resident; their session token and card number."""
    number = enroll_and_approve(client, clerk)["card_number"]
    code = client.post(f"/api/v1/cards/{number}/activation-code", headers=clerk).json()["code"]
    r = post_form(client, "/resident/activate", {"card_number": number, "code": code,
                                                 "secret": "482916", "secret_again": "482916"},
                  page="/resident/activate")
    assert r.status_code == 303, r.text
    r = post_form(client, "/resident/login", {"card_number": number, "secret": "482916"},
                  page="/resident/login")
    assert r.status_code == 303, r.text
    return client.cookies.get(RESIDENT_COOKIE), number


def _staff_token(client: TestClient, username: str) -> str:
    client.cookies.clear()
    staff_login(client, username)
    return client.cookies.get(SESSION_COOKIE)


@pytest.fixture
def logins(client, admin, clerk) -> dict[str, str]:
    """A live page session of each kind: an administrator, a partner desk, a resident."""
    partner = new_partner(client, admin, name="Walk Police")
    new_desk_user(client, admin, partner["id"], username="walkdesk")
    tokens = {SESSION_COOKIE: _staff_token(client, "admin")}
    client.cookies.clear()
    r = post_form(client, "/partner/login", {"username": "walkdesk",
                                             "password": DESK_PASSWORD}, page="/partner/login")
    assert r.status_code == 303, r.text
    tokens[PARTNER_COOKIE] = client.cookies.get(PARTNER_COOKIE)
    client.cookies.clear()
    tokens[RESIDENT_COOKIE], _ = _resident_login(client, clerk)
    client.cookies.clear()
    return tokens


OWN_COOKIE = {"/clerk": SESSION_COOKIE, "/admin": SESSION_COOKIE,
              "/partner": PARTNER_COOKIE, "/resident": RESIDENT_COOKIE}
HOMES = {"/clerk": "/clerk/", "/admin": "/admin/", "/partner": "/partner/",
         "/resident": "/resident/"}


def test_each_kind_of_login_opens_its_own_pages(client, logins):
    for prefix, home in HOMES.items():
        client.cookies.clear()
        client.cookies.set(OWN_COOKIE[prefix], logins[OWN_COOKIE[prefix]])
        assert client.get(home, follow_redirects=False).status_code == 200, home


def test_a_login_of_another_kind_opens_no_page(app, client, logins):
    """A resident's, a desk's or a staff member's session is no key to another kind's
    pages: neither in its own cookie nor copied into the other kind's cookie."""
    problems = []
    for template in _private_pages(app):
        prefix = area(template)
        own = OWN_COOKIE[prefix]
        for cookie, token in logins.items():
            if cookie == own:
                continue
            for placed_in in (cookie, own):  # as it is, and moved into this area's cookie
                client.cookies.clear()
                client.cookies.set(placed_in, token)
                r = client.get(url(template), follow_redirects=False)
                location = r.headers.get("location", "")
                if r.status_code != 303 or not location.startswith(LOGIN_OF[prefix] + "?"):
                    problems.append((template, cookie, placed_in, r.status_code, location))
    assert problems == []


@pytest.mark.parametrize(("username", "areas"), [
    ("clerk", ("/admin",)), ("supervisor", ("/admin",)), ("auditor", ("/admin", "/clerk"))])
def test_staff_roles_are_refused_pages_beyond_their_role(app, client, username, areas):
    client.cookies.clear()
    staff_login(client, username)
    problems = []
    for template in _private_pages(app):
        if area(template) not in areas:
            continue
        if username == "auditor" and template in AUDITOR_PAGES:
            assert client.get(url(template), follow_redirects=False).status_code == 200
            continue
        r = client.get(url(template), follow_redirects=False)
        if r.status_code != 403:
            problems.append((template, r.status_code))
    assert problems == []


def test_a_clerk_cannot_post_to_admin_pages_even_with_the_token(app, client):
    client.cookies.clear()
    staff_login(client, "clerk")
    token = csrf(client, "/clerk/")
    for method, template in page_routes(app):
        if method in SAFE or area(template) != "/admin":
            continue
        r = client.request(method, url(template), data={CSRF_FIELD: token},
                           follow_redirects=False)
        assert r.status_code == 403, (method, template, r.status_code)



def test_the_staff_api_holds_the_page_cookie_to_the_csrf_token(client, admin):
    """The page login's cookie also authenticates /api/v1 (the API takes it); a change
    made with it needs the token in the header, so a forged form cannot ride on it."""
    client.cookies.clear()
    staff_login(client, "admin")
    assert client.get("/api/v1/staff/me").status_code == 200  # reading needs no token
    body = {"name": "Forged Bank", "kind": "bank"}
    forged = client.post("/api/v1/partners", json=body)
    assert forged.status_code == 403 and forged.json()["error"] == "csrf_failed"
    assert client.post("/api/v1/keys/rotate").status_code == 403
    wrong = client.post("/api/v1/partners", json=body, headers={CSRF_HEADER: "forged"})
    assert wrong.status_code == 403
    made = client.post("/api/v1/partners", json=body, headers={CSRF_HEADER: csrf(client)})
    assert made.status_code == 201, made.text
    # A bearer token is never sent by the browser on its own: no token needed.
    client.cookies.clear()
    other = client.post("/api/v1/partners", json={"name": "Bearer Bank", "kind": "bank"},
                        headers=admin)
    assert other.status_code == 201, other.text


def test_resident_login_takes_one_password_check_whatever_the_card(client, clerk,
                                                                    monkeypatch):
    """An unknown card, a wrong PIN and a locked account cost the same Argon2 check, so
    the time of the answer does not tell which card numbers have an account."""
    _, number = _resident_login(client, clerk)
    client.cookies.clear()
    calls: list[str | None] = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password",
                        lambda stored, secret: calls.append(stored) or real(stored, secret))

    def attempt(card_number: str) -> int:
        calls.clear()
        r = post_form(client, "/resident/login", {"card_number": card_number,
                                                  "secret": "000000"}, page="/resident/login")
        assert r.status_code == 401
        return len(calls)

    assert attempt("999999999999") == 1  # no such card
    for _ in range(accounts.FREE_FAILURES + 1):  # wrong PINs, then the back-off locks
        assert attempt(number) == 1
    assert attempt(number) == 1  # locked: refused the same way, after the same work



def test_an_api_token_in_the_page_cookie_opens_no_page(client):
    """API tokens have no idle limit: copied into the session cookie they must not open
    the pages, whose sessions end after IDSVC_PAGE_IDLE_MINUTES unused."""
    token = client.post("/api/v1/auth/token", data={"username": "admin",
                                                    "password": PASSWORD}).json()
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token["access_token"])
    r = client.get("/admin/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/login?")
    client.cookies.clear()
    assert client.get("/api/v1/staff/me",  # the token itself still works where it belongs
                      headers={"Authorization": f"Bearer {token['access_token']}"}
                      ).status_code == 200
