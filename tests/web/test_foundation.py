"""What every page shares: languages, CSRF, security headers, login and idle sessions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from idsvc.clock import utcnow
from idsvc.staff.models import StaffSession
from idsvc.web import i18n
from idsvc.web.navigation import safe_next
from idsvc.web.templating import environment
from tests.conftest import PASSWORD
from tests.pages import csrf, post_form, staff_login


def test_start_page_is_english_by_default_and_follows_the_browser(client):
    page = client.get("/")
    assert page.status_code == 200 and '<html lang="en" dir="ltr">' in page.text
    spanish = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert '<html lang="es"' in spanish.text
    arabic = client.get("/", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in arabic.text
    chinese = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-Hans"' in chinese.text


def test_a_chosen_language_is_remembered(client):
    response = post_form(client, "/language", {"language": "pl", "next": "/staff/login"})
    assert response.status_code == 303 and response.headers["location"] == "/staff/login"
    assert "httponly" in response.headers["set-cookie"].lower()
    page = client.get("/", headers={"Accept-Language": "fr"})
    assert '<html lang="pl"' in page.text


def test_forms_without_the_csrf_token_are_refused(client):
    csrf(client)  # the browser has a token cookie, but the forged form does not carry it
    forged = client.post("/language", data={"language": "pl"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "text/html" in forged.headers["content-type"] and "expired" in forged.text
    wrong = client.post("/language", data={"language": "pl", "csrf_token": "guess"},
                        follow_redirects=False)
    assert wrong.status_code == 403


@pytest.mark.parametrize(("target", "expected"), [
    ("/clerk/", "/clerk/"), ("//evil.example/", "/"), ("https://evil.example", "/"),
    ("/\\evil", "/"), ("", "/"), ("/a\r\nSet-Cookie: x", "/")])
def test_redirects_stay_on_this_site(target, expected):
    assert safe_next(target) == expected


def test_security_headers_on_pages_and_api(client):
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    api = client.get("/.well-known/jwks.json")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in api.headers


def test_static_files_are_served(client):
    css = client.get("/static/css/site.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_unknown_pages_are_html_and_unknown_api_routes_json(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    api = client.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json()["error"] == "not_found"


def test_staff_login_sets_a_strict_cookie_and_sends_each_role_home(client):
    response = staff_login(client, "clerk")
    assert response.headers["location"] == "/clerk/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/v1/staff/me").json()["username"] == "clerk"
    client.cookies.clear()
    assert staff_login(client, "auditor").headers["location"] == "/admin/reports"


def test_wrong_password_shows_the_form_again(client):
    response = post_form(client, "/staff/login", {"username": "clerk", "password": "nope"},
                         page="/staff/login")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text and 'value="clerk"' in response.text


@pytest.mark.parametrize(("asked", "landing"), [
    ("/clerk/cards/find", "/clerk/cards/find"), ("//evil.example", "/clerk/")])
def test_login_returns_to_the_page_asked_for_but_never_off_site(client, asked, landing):
    response = post_form(client, "/staff/login",
                         {"username": "clerk", "password": PASSWORD, "next": asked},
                         page="/staff/login")
    assert response.headers["location"] == landing


def test_logout_ends_the_page_session(client):
    staff_login(client, "clerk")
    response = post_form(client, "/staff/logout")
    assert response.status_code == 303
    assert client.get("/api/v1/staff/me").status_code == 401


def test_an_idle_page_session_ends(client, connection):
    staff_login(client, "clerk")
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        rows = session.exec(select(StaffSession).where(StaffSession.kind == "cookie")).all()
        for row in rows:
            row.last_seen_at = utcnow() - timedelta(minutes=31)
            session.add(row)
        session.commit()
    assert client.get("/api/v1/staff/me").status_code == 401


def test_api_tokens_have_no_idle_limit(client, clerk, connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        for row in session.exec(select(StaffSession).where(StaffSession.kind == "api")).all():
            row.last_seen_at = utcnow() - timedelta(hours=3)
            session.add(row)
        session.commit()
    assert client.get("/api/v1/staff/me", headers=clerk).status_code == 200


@pytest.mark.parametrize(("header", "expected"), [
    ("", "en"), ("es-MX,en;q=0.5", "es"), ("de, fr;q=0.8", "fr"), ("en;q=0.1, ko", "ko"),
    ("zh-TW", "zh_Hans"), ("xx, *", "en"), ("pl;q=0", "en"), ("ht", "ht")])
def test_accept_language_negotiation(header, expected):
    class Connection:
        def __init__(self) -> None:
            self.cookies: dict[str, str] = {}
            self.headers = {"accept-language": header}

    assert i18n.negotiate(Connection()) == expected  # type: ignore[arg-type]


def test_a_residents_language_for_printed_text():
    assert i18n.for_resident(["ase", "spa"]) == "es"
    assert i18n.for_resident(["ita"]) == "en"
    assert i18n.for_resident([]) == "en"


def test_dates_read_naturally_in_each_language():
    day = date(2026, 3, 31)
    assert environment("en").filters["day"](day) == "Mar 31, 2026"
    assert environment("ht").filters["day"](day) == "31/03/2026"
    assert "2026" in environment("zh_Hans").filters["day"](day)
