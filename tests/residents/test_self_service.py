"""Residents: activation, PIN login with back-off, and what they see of their own card."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from idsvc.clock import utcnow
from tests.factories import enroll_and_approve, partner_headers

PIN = "482916"


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


def _activate(client, clerk, number, secret=PIN):
    code = client.post(f"/api/v1/cards/{number}/activation-code", headers=clerk)
    assert code.status_code == 201, code.text
    r = client.post("/api/v1/residents/activate",
                    json={"card_number": number, "code": code.json()["code"], "secret": secret})
    return code.json()["code"], r


def _login(client, number, secret=PIN):
    return client.post("/api/v1/residents/login", json={"card_number": number,
                                                        "secret": secret})


@pytest.fixture
def resident(client, clerk, card):
    _, r = _activate(client, clerk, card["card_number"])
    assert r.status_code == 204, r.text
    token = _login(client, card["card_number"]).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_activation_code_works_once(client, clerk, card):
    code, first = _activate(client, clerk, card["card_number"])
    assert first.status_code == 204
    again = client.post("/api/v1/residents/activate", json={
        "card_number": card["card_number"], "code": code, "secret": "917364"})
    assert again.status_code == 401 and again.json()["error"] == "invalid_activation"
    assert _login(client, card["card_number"]).status_code == 200


@pytest.mark.parametrize("secret", ["111111", "12345", "short pw"])
def test_weak_secrets_are_refused(client, clerk, card, secret):
    _, r = _activate(client, clerk, card["card_number"], secret=secret)
    assert r.status_code == 422


def test_wrong_code_or_unknown_card_look_the_same(client, card):
    bad = client.post("/api/v1/residents/activate", json={
        "card_number": card["card_number"], "code": "AAAAA-AAAAA", "secret": PIN})
    unknown = client.post("/api/v1/residents/activate", json={
        "card_number": "000000000000", "code": "AAAAA-AAAAA", "secret": PIN})
    assert bad.status_code == unknown.status_code == 401
    assert bad.json() == unknown.json()


def test_repeated_failures_lock_with_growing_back_off(client, resident, card, monkeypatch):
    number = card["card_number"]
    codes = [_login(client, number, "000000").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 401]
    locked = _login(client, number)  # even the right PIN is refused now...
    unknown = _login(client, "000000000000")
    assert locked.status_code == 401 and locked.json() == unknown.json()  # ...saying nothing
    later = utcnow() + timedelta(seconds=31)
    monkeypatch.setattr("idsvc.residents.accounts.utcnow", lambda: later)
    assert _login(client, number).status_code == 200  # the wait was 30 s


def test_ten_failures_lock_for_a_day(client, resident, card, monkeypatch):
    number = card["card_number"]
    clock = [utcnow()]
    monkeypatch.setattr("idsvc.residents.accounts.utcnow", lambda: clock[0])
    for _ in range(10):
        clock[0] += timedelta(hours=1)  # wait out each back-off, keep failing
        assert _login(client, number, "000000").status_code == 401
    clock[0] += timedelta(hours=23)
    assert _login(client, number).status_code == 401
    clock[0] += timedelta(hours=2)
    assert _login(client, number).status_code == 200


def test_new_pin_or_stolen_card_ends_open_sessions(client, clerk, resident, card):
    assert client.get("/api/v1/me/card", headers=resident).status_code == 200
    client.post("/api/v1/me/report-lost", json={"reason": "stolen"}, headers=resident)
    assert client.get("/api/v1/me/card", headers=resident).status_code == 401


def test_a_new_activation_code_unlocks(client, clerk, resident, card):
    number = card["card_number"]
    for _ in range(5):
        _login(client, number, "000000")
    _code, r = _activate(client, clerk, number, secret="739184")
    assert r.status_code == 204
    assert _login(client, number, "739184").status_code == 200


def test_my_card_benefits_redemptions_and_who_checked(client, admin, clerk, resident, card):
    me = client.get("/api/v1/me/card", headers=resident).json()
    assert me["card_number"] == card["card_number"] and me["state"] == "active"

    partner = client.post("/api/v1/partners", json={"name": "Museum", "kind": "cultural"},
                          headers=admin).json()
    key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
    museum = {"Authorization": f"Bearer {key['api_key']}"}
    benefit = client.post(f"/api/v1/partners/{partner['id']}/benefits",
                          json={"name": "Free membership", "limit": {"period": "year"}},
                          headers=admin).json()
    police = partner_headers(client, admin)
    client.post("/api/v1/verify", json={"card_number": card["card_number"]}, headers=police)

    before = client.get("/api/v1/me/benefits", headers=resident).json()
    assert [(b["name"], b["available"]) for b in before] == [("Free membership", True)]
    client.post("/api/v1/redemptions", json={"benefit_id": benefit["id"],
                                             "card_number": card["card_number"]},
                headers={**museum, "Idempotency-Key": uuid.uuid4().hex})
    after = client.get("/api/v1/me/benefits", headers=resident).json()[0]
    assert after["available"] is False and after["reason"] == "already_redeemed"
    assert after["available_again"].endswith("-01-01") and after["last_used_at"]

    used = client.get("/api/v1/me/redemptions", headers=resident).json()
    assert [(r["benefit"], r["partner"]) for r in used] == [("Free membership", "Museum")]
    checks = client.get("/api/v1/me/verifications", headers=resident).json()
    assert [(c["partner_kind"], c["result"]) for c in checks] == [("law_enforcement",
                                                                   "valid")]


def test_reporting_a_lost_card_suspends_it_at_once(client, admin, resident, card):
    police = partner_headers(client, admin)
    r = client.post("/api/v1/me/report-lost", json={"reason": "lost"}, headers=resident)
    assert r.status_code == 200 and r.json()["state"] == "suspended"
    verdict = client.post("/api/v1/verify", json={"card_number": card["card_number"]},
                          headers=police).json()
    assert verdict["result"] == "suspended"


def test_resident_changes_language_and_contact_but_not_name(client, clerk, resident, card):
    ok = client.patch("/api/v1/me", json={"preferred_languages": ["ben"],
                                          "contact": {"email": "a@example.org"}},
                      headers=resident)
    assert ok.status_code == 204
    staff_view = client.get(f"/api/v1/cards/{card['card_number']}", headers=clerk).json()
    assert staff_view["preferred_languages"] == ["ben"]
    refused = client.patch("/api/v1/me", json={"given_name": "Someone"}, headers=resident)
    assert refused.status_code == 422


def test_residents_reach_only_their_own_record(client, clerk, resident, card):
    other = enroll_and_approve(client, clerk, given_name="Otra")
    _, _r = _activate(client, clerk, other["card_number"], secret="528193")
    other_token = _login(client, other["card_number"], "528193").json()["access_token"]
    other_headers = {"Authorization": f"Bearer {other_token}"}
    assert client.get("/api/v1/me/card", headers=resident).json()["card_number"] == \
        card["card_number"]
    assert client.get("/api/v1/me/card", headers=other_headers).json()["card_number"] == \
        other["card_number"]
    # Staff tokens and partner keys are not resident tokens, and staff routes refuse
    # resident tokens.
    assert client.get("/api/v1/me/card", headers=clerk).status_code == 401
    assert client.get(f"/api/v1/cards/{other['card_number']}",
                      headers=resident).status_code == 401
