"""POST /api/v1/verify as partners use it (DESIGN §6): verdicts, scopes, limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idsvc.clock import utcnow
from tests.factories import card_qr, enroll_and_approve, partner_headers


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


@pytest.fixture
def police(client, admin):
    return partner_headers(client, admin, "law_enforcement")


def verify_both(client, partner, staff, number):
    """Verify the same card by QR and by number; both must agree."""
    by_qr = client.post("/api/v1/verify", json={"qr": card_qr(client, staff, number)},
                        headers=partner)
    by_number = client.post("/api/v1/verify", json={"card_number": number}, headers=partner)
    assert by_qr.status_code == by_number.status_code == 200, (by_qr.text, by_number.text)
    assert by_qr.json()["result"] == by_number.json()["result"]
    assert by_qr.json().get("card") == by_number.json().get("card")
    return by_qr.json()


def test_valid_card_shows_law_enforcement_scope(client, clerk, police, card):
    body = verify_both(client, police, clerk, card["card_number"])
    assert body["result"] == "valid" and body["checked_at"]
    assert set(body["card"]) == {"card_number", "full_name", "date_of_birth", "photo",
                                 "expires_at"}
    assert body["card"]["full_name"] == "Amaru Quispe Mamani"
    assert body["card"]["date_of_birth"] == "1988-04-17"
    assert body["card"]["photo"].startswith("data:image/webp;base64,")


def test_museum_sees_neither_photo_nor_birth_date(client, clerk, admin, card):
    museum = partner_headers(client, admin, "cultural", name="Riverton Museum")
    body = verify_both(client, museum, clerk, card["card_number"])
    assert body["result"] == "valid"
    assert body["card"] == {"first_name": "Amaru", "age_group": "adult", "benefits": []}


def test_bank_sees_address_and_dates(client, clerk, admin, card):
    bank = partner_headers(client, admin, "bank", name="Riverton Credit Union")
    fields = verify_both(client, bank, clerk, card["card_number"])["card"]
    assert fields["address"] == "41 Hudson Street, Apt 3B, Riverton 10013"
    assert fields["issued_at"] and fields["expires_at"]


def test_library_learns_residency_not_identity_number(client, clerk, admin, card):
    library = partner_headers(client, admin, "library", name="Riverton Library")
    fields = verify_both(client, library, clerk, card["card_number"])["card"]
    assert fields == {"full_name": "Amaru Quispe Mamani", "city_resident": True,
                      "age_group": "adult", "expires_at": fields["expires_at"]}


def test_admin_narrows_scope_but_cannot_widen_it(client, clerk, admin, card):
    museum = partner_headers(client, admin, "cultural", name="Garden")
    partner_id = client.get("/api/v1/partners", headers=admin).json()[0]["id"]
    widened = client.patch(f"/api/v1/partners/{partner_id}", json={"scope": ["photo"]},
                           headers=admin)
    assert widened.status_code == 422 and widened.json()["error"] == "scope_too_wide"
    narrowed = client.patch(f"/api/v1/partners/{partner_id}", json={"scope": ["age_group"]},
                            headers=admin)
    assert narrowed.status_code == 200 and narrowed.json()["scope_narrowed"] is True
    assert verify_both(client, museum, clerk, card["card_number"])["card"] == {
        "age_group": "adult"}  # narrowed: not even the benefits


def test_revoked_card_shows_nothing(client, clerk, police, card):
    r = client.post(f"/api/v1/cards/{card['card_number']}/revoke", json={"reason": "fraud"},
                    headers=clerk)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    body = verify_both(client, police, clerk, card["card_number"])
    assert body["result"] == "revoked" and "card" not in body


def test_suspend_then_reinstate(client, clerk, police, card):
    number = card["card_number"]
    client.post(f"/api/v1/cards/{number}/suspend", json={"reason": "reported_lost"},
                headers=clerk)
    body = verify_both(client, police, clerk, number)
    assert body["result"] == "suspended" and body["card"]["card_number"] == number
    client.post(f"/api/v1/cards/{number}/reinstate", headers=clerk)
    assert verify_both(client, police, clerk, number)["result"] == "valid"


def test_expired_card(client, clerk, police, card, monkeypatch):
    later = utcnow() + timedelta(days=6 * 366)
    monkeypatch.setattr("idsvc.verification.service.utcnow", lambda: later)
    body = verify_both(client, police, clerk, card["card_number"])
    assert body["result"] == "expired" and body["card"]["full_name"]


def test_unknown_number_is_not_found(client, police):
    for typed in ("000000000000", "1234", "4829 1057 3361"):
        r = client.post("/api/v1/verify", json={"card_number": typed}, headers=police)
        assert r.status_code == 200 and r.json()["result"] == "not_found"
        assert set(r.json()) == {"result", "checked_at"}


def test_replaced_card_old_qr_is_revoked_new_one_valid(client, clerk, police, card):
    number = card["card_number"]
    old_qr = card_qr(client, clerk, number)
    r = client.post(f"/api/v1/cards/{number}/replace",
                    json={"reason": "lost", "fee_cents": 1500}, headers=clerk)
    assert r.status_code == 201 and r.json()["version"] == 2
    old = client.post("/api/v1/verify", json={"qr": old_qr}, headers=police).json()
    assert old["result"] == "revoked"
    assert verify_both(client, police, clerk, number)["result"] == "valid"


@pytest.mark.parametrize(("body", "code"), [
    ({}, "validation_failed"), ({"qr": "A", "card_number": "1"}, "validation_failed"),
    ({"qr": "A", "extra": 1}, "unknown_field"), ({"qr": ""}, "validation_failed"),
    ({"qr": "A", "nationality": "X"}, "unknown_field")])
def test_malformed_body_is_422(client, police, body, code):
    r = client.post("/api/v1/verify", json=body, headers=police)
    assert r.status_code == 422 and r.json()["error"] == code
    assert "\"X\"" not in r.text  # the refused value is not echoed


def test_missing_or_bad_key_is_401(client, clerk):
    assert client.post("/api/v1/verify", json={"qr": "X"}).status_code == 401
    bad = client.post("/api/v1/verify", json={"qr": "X"},
                      headers={"Authorization": "Bearer idsvc_0123456789_nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_api_key"
    # A staff token is not a partner key.
    assert client.post("/api/v1/verify", json={"qr": "X"}, headers=clerk).status_code == 401


def test_partner_key_cannot_call_staff_routes(client, police, card):
    assert client.get(f"/api/v1/cards/{card['card_number']}", headers=police).status_code == 401
    assert client.post("/api/v1/applications", json={}, headers=police).status_code == 401


def test_revoked_api_key_stops_at_once(client, admin, card):
    created = client.post("/api/v1/partners", json={"name": "Bank", "kind": "bank"},
                          headers=admin).json()
    key = client.post(f"/api/v1/partners/{created['id']}/keys", json={"label": "desk 1"},
                      headers=admin).json()
    headers = {"Authorization": f"Bearer {key['api_key']}"}
    body = {"card_number": card["card_number"]}
    assert client.post("/api/v1/verify", json=body, headers=headers).status_code == 200
    r = client.delete(f"/api/v1/partners/{created['id']}/keys/{key['id']}", headers=admin)
    assert r.status_code == 204
    assert client.post("/api/v1/verify", json=body, headers=headers).status_code == 401


def test_keys_are_listed_without_secrets(client, admin):
    created = client.post("/api/v1/partners", json={"name": "Lib", "kind": "library"},
                          headers=admin).json()
    key = client.post(f"/api/v1/partners/{created['id']}/keys", headers=admin).json()
    listed = client.get(f"/api/v1/partners/{created['id']}/keys", headers=admin).json()
    assert [k["prefix"] for k in listed] == [key["prefix"]]
    assert "api_key" not in listed[0] and key["api_key"] not in str(listed)


def test_rate_limit_per_key(client, admin, card):
    headers = partner_headers(client, admin, "transit", name="Bike share")
    partner_id = client.get("/api/v1/partners", headers=admin).json()[0]["id"]
    client.patch(f"/api/v1/partners/{partner_id}", json={"rate_limit_per_minute": 3},
                 headers=admin)
    body = {"card_number": card["card_number"]}
    codes = [client.post("/api/v1/verify", json=body, headers=headers).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.post("/api/v1/verify", json=body, headers=headers)
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1


def test_clerk_cannot_manage_partners(client, clerk):
    r = client.post("/api/v1/partners", json={"name": "X", "kind": "bank"}, headers=clerk)
    assert r.status_code == 403


def test_museum_sees_the_offers_this_card_may_still_use(client, clerk, admin, card):
    museum = partner_headers(client, admin, "cultural", name="Riverton Museum")
    partner_id = client.get("/api/v1/partners", headers=admin).json()[0]["id"]
    benefit = client.post(f"/api/v1/partners/{partner_id}/benefits",
                          json={"name": "Free membership"}, headers=admin).json()
    client.post(f"/api/v1/partners/{partner_id}/benefits",
                json={"name": "Seniors' tea", "min_age": 65}, headers=admin)
    offers = verify_both(client, museum, clerk, card["card_number"])["card"]["benefits"]
    assert offers == [{"id": benefit["id"], "name": "Free membership"}]
    client.post("/api/v1/redemptions", json={"benefit_id": benefit["id"],
                                             "card_number": card["card_number"]},
                headers={**museum, "Idempotency-Key": "first-visit-1"})
    assert verify_both(client, museum, clerk, card["card_number"])["card"]["benefits"] == []
