"""Resident pages, used as a resident's browser would: forms, cookies and redirects."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, timedelta

import pytest

from idsvc.clock import utcnow
from idsvc.residents.pages import RESIDENT_COOKIE
from idsvc.web.i18n import LANGUAGE_COOKIE
from tests.factories import enroll_and_approve, partner_headers
from tests.pages import post_form

PIN = "482916"
WRONG = "Wrong card number or PIN, or too many tries"


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


def _code(client, clerk, number):
    response = client.post(f"/api/v1/cards/{number}/activation-code", headers=clerk)
    assert response.status_code == 201, response.text
    return response.json()["code"]


def _activate(client, number, code, secret=PIN, again=None):
    return post_form(client, "/resident/activate",
                     {"card_number": number, "code": code, "secret": secret,
                      "secret_again": secret if again is None else again},
                     page="/resident/activate")


def _login(client, number, secret=PIN, **extra):
    return post_form(client, "/resident/login", {"card_number": number, "secret": secret,
                                                  **extra}, page="/resident/login")


def _set_up(client, clerk, number, secret=PIN):
    assert _activate(client, number, _code(client, clerk, number), secret).status_code == 303


@pytest.fixture
def logged_in(client, clerk, card):
    _set_up(client, clerk, card["card_number"])
    client.cookies.set(LANGUAGE_COOKIE, "en")  # English words, whatever the resident prefers
    response = _login(client, card["card_number"])
    assert response.status_code == 303 and response.headers["location"] == "/resident/"
    return response


def _text(response):
    """The page's visible words, tags dropped and entities decoded, for plain assertions."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))


def test_activation_then_login(client, clerk, card):
    number = card["card_number"]
    done = _activate(client, number, _code(client, clerk, number))
    assert done.status_code == 303 and done.headers["location"] == "/resident/login?activated=1"
    assert "Your account is ready" in client.get(done.headers["location"]).text
    response = _login(client, number)
    assert response.status_code == 303
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith(RESIDENT_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=7200" in cookie
    assert "Path=/resident" in cookie
    page = client.get("/resident/")
    assert page.status_code == 200 and number in page.text


def test_activation_refusals_are_explained(client, clerk, card):
    number = card["card_number"]
    code = _code(client, clerk, number)
    wrong = _activate(client, number, "AAAAA-AAAAA")
    assert wrong.status_code == 401 and "activation code is not right" in _text(wrong)
    unknown = _activate(client, "000000000000", code)
    assert unknown.status_code == 401 and _text(unknown) == _text(wrong).replace(
        number, "000000000000").replace("AAAAA-AAAAA", code)
    weak = _activate(client, number, code, secret="111111")
    assert weak.status_code == 422 and "too easy to guess" in weak.text
    short = _activate(client, number, code, secret="short pw")
    assert short.status_code == 422 and "too easy to guess" in short.text
    mismatch = _activate(client, number, code, secret=PIN, again="482917")
    assert mismatch.status_code == 422 and "two PINs are not the same" in mismatch.text
    assert 'aria-describedby="activate-error"' in mismatch.text
    # None of the refusals used up the code.
    assert _activate(client, number, code).status_code == 303


def test_wrong_pins_back_off_then_lock_saying_nothing_more(client, clerk, card, monkeypatch):
    number = card["card_number"]
    _set_up(client, clerk, number)
    for _ in range(4):
        refused = _login(client, number, "000000")
        assert refused.status_code == 401 and WRONG in refused.text
        assert RESIDENT_COOKIE not in refused.headers.get("set-cookie", "")
    locked = _login(client, number)  # the right PIN, during the back-off
    unknown = _login(client, "000000000000")
    assert locked.status_code == unknown.status_code == 401
    assert WRONG in locked.text and WRONG in unknown.text
    later = utcnow() + timedelta(seconds=31)
    monkeypatch.setattr("idsvc.residents.accounts.utcnow", lambda: later)
    assert _login(client, number).status_code == 303


def test_ten_failures_lock_the_page_login_for_a_day(client, clerk, card, monkeypatch):
    number = card["card_number"]
    _set_up(client, clerk, number)
    clock = [utcnow()]
    monkeypatch.setattr("idsvc.residents.accounts.utcnow", lambda: clock[0])
    for _ in range(10):
        clock[0] += timedelta(hours=1)
        assert _login(client, number, "000000").status_code == 401
    clock[0] += timedelta(hours=23)
    assert WRONG in _login(client, number).text
    clock[0] += timedelta(hours=2)
    assert _login(client, number).status_code == 303


def test_idle_page_session_ends(client, logged_in, monkeypatch):
    assert client.get("/resident/").status_code == 200
    later = utcnow() + timedelta(minutes=31)  # page_idle_minutes is 30
    monkeypatch.setattr("idsvc.residents.accounts.utcnow", lambda: later)
    response = client.get("/resident/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/resident/login?next=%2Fresident%2F"


def test_logout_ends_the_session(client, logged_in):
    token = client.cookies.get(RESIDENT_COOKIE)
    response = post_form(client, "/resident/logout", page="/resident/")
    assert response.status_code == 303 and response.headers["location"] == "/resident/login"
    assert client.get("/resident/", follow_redirects=False).status_code == 303
    client.cookies.set(RESIDENT_COOKIE, token, path="/resident")  # the old cookie is dead
    assert client.get("/resident/", follow_redirects=False).status_code == 303


def test_my_card_shows_only_my_own_history(client, admin, clerk, card, logged_in):
    other = enroll_and_approve(client, clerk, given_name="Otra")
    museum = client.post("/api/v1/partners", json={"name": "Riverton Museum",
                                                   "kind": "cultural"}, headers=admin).json()
    key = client.post(f"/api/v1/partners/{museum['id']}/keys", headers=admin).json()
    museum_key = {"Authorization": f"Bearer {key['api_key']}"}
    benefit = client.post(f"/api/v1/partners/{museum['id']}/benefits",
                          json={"name": "Free entry", "limit": {"period": "year"}},
                          headers=admin).json()
    client.post(f"/api/v1/partners/{museum['id']}/benefits",
                json={"name": "Senior tour", "min_age": 65}, headers=admin)
    police = partner_headers(client, admin, name="Precinct Five")
    client.post("/api/v1/verify", json={"card_number": card["card_number"]},
                headers=museum_key)
    client.post("/api/v1/verify", json={"card_number": other["card_number"]}, headers=police)
    client.post("/api/v1/redemptions", json={"benefit_id": benefit["id"],
                                             "card_number": card["card_number"]},
                headers={**museum_key, "Idempotency-Key": uuid.uuid4().hex})

    page = client.get("/resident/")
    text = _text(page)
    assert page.status_code == 200 and "Valid: your card works." in text
    assert card["card_number"] in text and other["card_number"] not in text
    assert "Riverton Museum (museum or culture)" in text  # who checked mine
    assert "Precinct Five" not in text  # the other resident's check
    assert "You used it on" in text and "Available again on January 1," in text
    assert "It is only for some ages: Age 65 and over." in text
    assert re.search(r"Benefits you have used.*Free entry.*Riverton Museum", text)


@pytest.mark.parametrize(("days_to_expiry", "state", "advice"), [
    (100, "Valid: your card works.", False),
    (30, "Valid: your card works.", True),
    (-30, "Expired: your card no longer works.", True),
    (-200, "Expired: your card no longer works.", False),
])
def test_my_card_words_its_state_and_renewal(client, card, logged_in, monkeypatch,
                                             days_to_expiry, state, advice):
    expires = date.fromisoformat(card["expires_at"])
    monkeypatch.setattr("idsvc.residents.pages.local_today",
                        lambda _zone: expires - timedelta(days=days_to_expiry))
    text = _text(client.get("/resident/"))
    assert state in text
    assert ("You can renew your card now at a service centre" in text) is advice


def test_report_lost_suspends_the_card_and_ends_the_session(client, admin, card, logged_in):
    token = client.cookies.get(RESIDENT_COOKIE)
    form = client.get("/resident/report-lost")
    assert "Your card stops working at once" in form.text
    done = post_form(client, "/resident/report-lost", {"reason": "stolen"},
                     page="/resident/report-lost")
    assert done.status_code == 200
    assert f"You reported card {card['card_number']} stolen" in _text(done)
    police = partner_headers(client, admin)
    verdict = client.post("/api/v1/verify", json={"card_number": card["card_number"]},
                          headers=police).json()
    assert verdict["result"] == "suspended"
    client.cookies.set(RESIDENT_COOKIE, token, path="/resident")
    assert client.get("/resident/", follow_redirects=False).status_code == 303


def test_report_lost_is_refused_without_the_csrf_token(client, admin, card, logged_in):
    refused = client.post("/resident/report-lost", data={"reason": "lost"},
                          follow_redirects=False)
    assert refused.status_code == 403
    police = partner_headers(client, admin)
    assert client.post("/api/v1/verify", json={"card_number": card["card_number"]},
                       headers=police).json()["result"] == "valid"


def test_settings_change_preferred_languages_and_contact(client, clerk, card, logged_in):
    page = client.get("/resident/settings")
    assert page.status_code == 200 and "go to a service centre" in page.text
    assert '<option value="spa" selected>' in page.text
    saved = post_form(client, "/resident/settings",
                      {"language_1": "ben", "language_2": "", "email": "a@example.org"},
                      page="/resident/settings")
    assert saved.status_code == 303
    assert "Your changes are saved" in client.get(saved.headers["location"]).text
    staff_view = client.get(f"/api/v1/cards/{card['card_number']}", headers=clerk).json()
    assert staff_view["preferred_languages"] == ["ben"]
    bad = post_form(client, "/resident/settings", {"language_1": "spa", "email": "nope"},
                    page="/resident/settings")
    assert bad.status_code == 422
    assert 'aria-describedby="email-error" aria-invalid="true"' in bad.text
    staff_view = client.get(f"/api/v1/cards/{card['card_number']}", headers=clerk).json()
    assert staff_view["preferred_languages"] == ["ben"]


def test_login_sets_the_language_from_the_residents_preference(client, clerk, card):
    _set_up(client, clerk, card["card_number"])  # the applicant prefers spa, then eng
    response = _login(client, card["card_number"])
    assert client.cookies.get(LANGUAGE_COOKIE) == "es"
    assert '<html lang="es"' in client.get(response.headers["location"]).text


def test_a_chosen_language_is_kept_at_login(client, clerk, card):
    _set_up(client, clerk, card["card_number"])
    client.cookies.set(LANGUAGE_COOKIE, "fr")
    _login(client, card["card_number"])
    assert client.cookies.get(LANGUAGE_COOKIE) == "fr"


@pytest.mark.parametrize("path", ["/resident/", "/resident/settings", "/resident/report-lost"])
def test_anonymous_visitors_are_sent_to_the_login(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/resident/login?next=%2Fresident%2F")


@pytest.mark.parametrize("path", ["/resident/logout", "/resident/report-lost",
                                  "/resident/settings"])
def test_anonymous_form_posts_are_sent_to_the_login(client, path):
    response = post_form(client, path, {"reason": "lost"}, page="/resident/login")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/resident/login?next=")
