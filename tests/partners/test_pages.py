"""The partner desk pages: login, the scanner's checks and redemptions, the log."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest

from idsvc.clock import utcnow
from idsvc.partners import users
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.pages import csrf, post_form, staff_login
from tests.partners.test_users import DESK_PASSWORD, new_desk_user, new_partner


def desk_login(client, username: str = "desk1", password: str = DESK_PASSWORD) -> dict[str, str]:
    """Log in through the form; return the header the scanner script sends."""
    r = post_form(client, "/partner/login", {"username": username, "password": password},
                  page="/partner/login")
    assert r.status_code == 303, r.text
    return {"X-CSRF-Token": csrf(client, "/partner/login")}


@pytest.fixture
def police(client, admin):
    partner = new_partner(client, admin, name="Riverton Police")
    new_desk_user(client, admin, partner["id"])
    return partner


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


def test_login_page_logout_and_cookie(client, police):
    page = client.get("/partner/login")
    assert page.status_code == 200 and "Partner desk login" in page.text
    assert client.get("/partner/", follow_redirects=False).headers["location"] == \
        "/partner/login?next=%2Fpartner%2F"
    r = post_form(client, "/partner/login", {"username": "desk1", "password": DESK_PASSWORD},
                  page="/partner/login")
    assert r.status_code == 303 and r.headers["location"] == "/partner/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("idsvc_partner="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    scanner = client.get("/partner/")
    assert scanner.status_code == 200
    assert 'data-scope="card_number date_of_birth expires_at full_name photo"' in scanner.text
    assert 'data-max-age-hours="48' in scanner.text
    assert "/static/vendor/jsqr/jsQR.js" in scanner.text and "Riverton Police" in scanner.text
    assert client.get("/partner/redemptions").status_code == 200
    out = post_form(client, "/partner/logout", page="/partner/")
    assert out.status_code == 303 and out.headers["location"] == "/partner/login"
    assert client.get("/partner/", follow_redirects=False).status_code == 303


def test_logout_needs_the_csrf_token(client, police):
    desk_login(client)
    assert client.post("/partner/logout", follow_redirects=False).status_code == 403
    assert client.get("/partner/", follow_redirects=False).status_code == 200


def test_wrong_password_and_inactive_accounts_get_the_same_refusal(client, admin, police):
    def refused(username: str, password: str) -> None:
        r = post_form(client, "/partner/login", {"username": username, "password": password},
                      page="/partner/login")
        assert r.status_code == 401
        assert "Wrong username or password." in r.text and 'role="alert"' in r.text
        assert "idsvc_partner=" not in r.headers.get("set-cookie", "")

    refused("desk1", "not the desk password")
    refused("nobody", DESK_PASSWORD)
    client.patch(f"/api/v1/partners/{police['id']}", json={"active": False}, headers=admin)
    refused("desk1", DESK_PASSWORD)
    client.patch(f"/api/v1/partners/{police['id']}", json={"active": True}, headers=admin)
    other = new_desk_user(client, admin, police["id"], username="desk2")
    client.delete(f"/api/v1/partners/{police['id']}/users/{other['id']}", headers=admin)
    refused("desk2", DESK_PASSWORD)


def test_a_partner_deactivated_after_login_ends_the_desk_session(client, admin, police):
    desk_login(client)
    client.patch(f"/api/v1/partners/{police['id']}", json={"active": False}, headers=admin)
    assert client.get("/partner/", follow_redirects=False).status_code == 303


def test_idle_sessions_end(client, police, monkeypatch):
    desk_login(client)
    assert client.get("/partner/", follow_redirects=False).status_code == 200
    later = utcnow() + timedelta(minutes=31)
    monkeypatch.setattr(users, "utcnow", lambda: later)
    r = client.get("/partner/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/partner/login")


def _same(page_answer: dict, api_answer: dict) -> None:
    page_answer.pop("checked_at"), api_answer.pop("checked_at")
    assert page_answer == api_answer


def test_the_scanner_gives_the_api_verdict_and_fields(client, admin, clerk, police, card):
    headers = desk_login(client)
    api = partner_headers(client, admin, kind="law_enforcement", name="Police API")
    number = card["card_number"]
    qr = card_qr(client, clerk, number)
    revoked = enroll_and_approve(client, clerk, given_name="Rosa", family_name="Revoked")
    client.post(f"/api/v1/cards/{revoked['card_number']}/revoke", json={"reason": "stolen"},
                headers=clerk)
    cases = [({"qr": qr}, "valid"), ({"card_number": number}, "valid"),
             ({"card_number": revoked["card_number"]}, "revoked"),
             ({"qr": card_qr(client, clerk, revoked["card_number"])}, "revoked"),
             ({"card_number": "RV-0000-0000"}, "not_found"),
             ({"qr": "NOT A CARD AT ALL"}, "invalid")]
    for body, result in cases:
        page = client.post("/partner/verify", json=body, headers=headers)
        direct = client.post("/api/v1/verify", json=body, headers=api)
        assert page.status_code == direct.status_code == 200, page.text
        assert page.json()["result"] == result
        _same(page.json(), direct.json())
    valid = client.post("/partner/verify", json={"qr": qr}, headers=headers).json()
    assert set(valid["card"]) == {"card_number", "full_name", "date_of_birth", "photo",
                                  "expires_at"}
    bad = client.post("/partner/verify", json={"qr": qr, "card_number": number}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"
    unknown = client.post("/partner/verify", json={"qr": qr, "nationality": "x"}, headers=headers)
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_field"


def test_verify_needs_the_csrf_header_and_a_desk_session(client, police, card):
    body = {"card_number": card["card_number"]}
    assert client.post("/partner/verify", json=body).status_code == 403  # no session, no CSRF
    token = csrf(client, "/partner/login")
    r = client.post("/partner/verify", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
    staff_login(client, "clerk")  # a staff cookie is not a partner desk
    r = client.post("/partner/verify", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 401
    headers = desk_login(client)
    assert client.post("/partner/verify", json=body).status_code == 403
    assert client.post("/partner/verify", json=body,
                       headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/partner/verify", json=body, headers=headers).status_code == 200


def test_the_partners_rate_limit_applies_to_the_desk(client, admin, police, card):
    client.patch(f"/api/v1/partners/{police['id']}", json={"rate_limit_per_minute": 2},
                 headers=admin)
    headers = desk_login(client)
    body = {"card_number": card["card_number"]}
    answers = [client.post("/partner/verify", json=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"] == "rate_limited" and "retry-after" in answers[2].headers


def _museum(client, admin, name="Riverton Museum", username="museum1"):
    partner = new_partner(client, admin, kind="cultural", name=name)
    new_desk_user(client, admin, partner["id"], username=username)
    r = client.post(f"/api/v1/partners/{partner['id']}/benefits",
                    json={"name": "Free entry", "category": "culture"}, headers=admin)
    assert r.status_code == 201, r.text
    return partner, r.json()


def _redeem(client, headers, benefit_id, key=None, **card):
    return client.post("/partner/redemptions", json={"benefit_id": benefit_id, **card},
                       headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())})


def test_redeeming_from_the_scanner(client, admin, clerk, card):
    _, benefit = _museum(client, admin)
    _, zoo_benefit = _museum(client, admin, name="Riverton Zoo", username="zoo1")
    headers = desk_login(client, "museum1")
    qr = card_qr(client, clerk, card["card_number"])
    checked = client.post("/partner/verify", json={"qr": qr}, headers=headers).json()
    assert checked["card"]["benefits"] == [{"id": benefit["id"], "name": "Free entry"}]
    assert set(checked["card"]) == {"first_name", "age_group", "benefits"}

    key = str(uuid.uuid4())
    first = _redeem(client, headers, benefit["id"], key=key, qr=qr)
    assert first.status_code == 201, first.text
    assert set(first.json()) == {"id", "benefit_id", "benefit_name", "redeemed_at", "voided_at",
                                 "card"}
    assert card["card_number"] not in first.text
    replay = _redeem(client, headers, benefit["id"], key=key, qr=qr)
    assert replay.status_code == 201 and replay.json() == first.json()
    again = _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    assert again.status_code == 409 and again.json()["error"] == "already_redeemed"
    assert again.json()["redeemed_at"] and "available_again" in again.json()
    theirs = _redeem(client, headers, zoo_benefit["id"], qr=qr)
    assert theirs.status_code == 403 and theirs.json()["error"] == "benefit_not_yours"
    assert client.post("/partner/verify", json={"qr": qr},
                       headers=headers).json()["card"]["benefits"] == []
    no_key = client.post("/partner/redemptions", json={"benefit_id": benefit["id"], "qr": qr},
                         headers=headers)
    assert no_key.status_code == 422
    no_csrf = client.post("/partner/redemptions", json={"benefit_id": benefit["id"], "qr": qr},
                          headers={"Idempotency-Key": str(uuid.uuid4())})
    assert no_csrf.status_code == 403


def test_a_revoked_card_cannot_redeem(client, admin, clerk, card):
    _, benefit = _museum(client, admin)
    headers = desk_login(client, "museum1")
    client.post(f"/api/v1/cards/{card['card_number']}/revoke", json={"reason": "stolen"},
                headers=clerk)
    r = _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    assert r.status_code == 422 and r.json()["error"] == "card_revoked"


def test_the_log_and_csv_show_only_the_partners_own_rows(client, admin, clerk, card):
    museum, benefit = _museum(client, admin)
    _, zoo_benefit = _museum(client, admin, name="Riverton Zoo", username="zoo1")
    headers = desk_login(client, "zoo1")
    zoo_row = _redeem(client, headers, zoo_benefit["id"], card_number=card["card_number"]).json()
    post_form(client, "/partner/logout", page="/partner/")
    headers = desk_login(client, "museum1")
    mine = _redeem(client, headers, benefit["id"], card_number=card["card_number"]).json()

    page = client.get("/partner/redemptions")
    assert page.status_code == 200
    assert mine["card"] in page.text and zoo_row["card"] not in page.text
    assert card["card_number"] not in page.text
    assert "<caption>" in page.text and 'scope="col"' in page.text

    exported = client.get("/partner/redemptions.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["id"]) for r in rows] == [mine["id"]]
    assert rows[0]["card"] == mine["card"] and rows[0]["benefit_name"] == "Free entry"

    key = client.post(f"/api/v1/partners/{museum['id']}/keys", headers=admin).json()["api_key"]
    api_csv = client.get("/api/v1/redemptions",
                         headers={"Authorization": f"Bearer {key}", "Accept": "text/csv"})
    assert api_csv.text == exported.text  # the same data and pseudonyms as the API

    later = client.get("/partner/redemptions.csv?from=2999-01-01")
    assert list(csv.DictReader(io.StringIO(later.text))) == []
    assert "No redemptions in this period." in client.get(
        "/partner/redemptions?from=2999-01-01").text
    assert mine["card"] in client.get("/partner/redemptions?from=2000-01-01&to=2999-01-01").text
    assert client.get("/partner/redemptions?from=not-a-date").status_code == 422


def test_the_log_pages_through_many_rows(client, admin, clerk, monkeypatch):
    _, benefit = _museum(client, admin)
    monkeypatch.setattr("idsvc.partners.pages.LOG_PAGE_SIZE", 2)
    headers = desk_login(client, "museum1")
    cards = [enroll_and_approve(client, clerk, given_name=f"Person{i}", family_name="Paging")
             for i in range(3)]
    made = [_redeem(client, headers, benefit["id"], card_number=c["card_number"]).json()
            for c in cards]
    first = client.get("/partner/redemptions").text
    assert made[0]["card"] in first and made[2]["card"] not in first
    assert f"after={made[1]['id']}" in first
    second = client.get(f"/partner/redemptions?after={made[1]['id']}").text
    assert made[2]["card"] in second and made[0]["card"] not in second
