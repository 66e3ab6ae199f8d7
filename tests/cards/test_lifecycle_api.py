"""Renewal inside its window, reissue after a change, and the rules on each transition."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import card_qr, enroll_and_approve, partner_headers


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


def _on(monkeypatch, day: date) -> None:
    monkeypatch.setattr("idsvc.cards.api.local_today", lambda _zone: day)


def test_renewal_only_inside_the_window(client, clerk, card, monkeypatch):
    number, expires = card["card_number"], date.fromisoformat(card["expires_at"])
    _on(monkeypatch, expires - timedelta(days=61))
    early = client.post(f"/api/v1/cards/{number}/renew", headers=clerk)
    assert early.status_code == 422 and early.json()["error"] == "outside_renewal_window"
    assert early.json()["opens"] == (expires - timedelta(days=60)).isoformat()
    _on(monkeypatch, expires + timedelta(days=184))
    late = client.post(f"/api/v1/cards/{number}/renew", headers=clerk)
    assert late.status_code == 422
    _on(monkeypatch, expires - timedelta(days=60))
    renewed = client.post(f"/api/v1/cards/{number}/renew", json={"fee_cents": 0,
                                                                "fee_waived": True},
                          headers=clerk)
    assert renewed.status_code == 201, renewed.text
    body = renewed.json()
    assert body["version"] == 2 and body["issue_reason"] == "renewal"
    assert body["card_number"] == number


def test_reissue_after_a_name_change(client, clerk, admin, card):
    police = partner_headers(client, admin)
    number = card["card_number"]
    old_qr = card_qr(client, clerk, number)
    r = client.post(f"/api/v1/cards/{number}/reissue",
                    json={"changes": {"family_name": "Quispe Flores"}}, headers=clerk)
    assert r.status_code == 201 and r.json()["version"] == 2
    new = client.post("/api/v1/verify", json={"card_number": number}, headers=police).json()
    assert new["result"] == "valid" and new["card"]["full_name"] == "Amaru Quispe Flores"
    old = client.post("/api/v1/verify", json={"qr": old_qr}, headers=police).json()
    assert old["result"] == "revoked"
    assert client.post(f"/api/v1/cards/{number}/reissue", json={"changes": {}},
                       headers=clerk).json()["error"] == "no_changes"
    refused = client.post(f"/api/v1/cards/{number}/reissue",
                          json={"changes": {"nationality": "x"}}, headers=clerk)
    assert refused.status_code == 422 and refused.json()["error"] == "unknown_field"


def test_transitions_that_make_no_sense_are_refused(client, clerk, card):
    number = card["card_number"]
    assert client.post(f"/api/v1/cards/{number}/reinstate", headers=clerk).status_code == 409
    client.post(f"/api/v1/cards/{number}/revoke", json={"reason": "deceased"}, headers=clerk)
    assert client.post(f"/api/v1/cards/{number}/suspend", json={"reason": "investigation"},
                       headers=clerk).status_code == 409
    again = client.post(f"/api/v1/cards/{number}/revoke", json={"reason": "fraud"},
                        headers=clerk)
    assert again.status_code == 409 and again.json()["error"] == "card_revoked"
    # A card revoked because its holder died is not replaced.
    replaced = client.post(f"/api/v1/cards/{number}/replace", json={"reason": "lost"},
                           headers=clerk)
    assert replaced.status_code == 409 and replaced.json()["error"] == "card_not_replaceable"


def test_lifecycle_needs_card_staff(client, auditor, card):
    r = client.post(f"/api/v1/cards/{card['card_number']}/revoke", json={"reason": "lost"},
                    headers=auditor)
    assert r.status_code == 403


def test_superseded_is_not_a_reason_staff_can_choose(client, clerk, card):
    r = client.post(f"/api/v1/cards/{card['card_number']}/revoke",
                    json={"reason": "superseded"}, headers=clerk)
    assert r.status_code == 422


def test_replacement_resolves_a_reported_loss_but_not_an_investigation(client, clerk, card):
    number = card["card_number"]
    client.post(f"/api/v1/cards/{number}/suspend", json={"reason": "investigation"},
                headers=clerk)
    for action, body in (("replace", {"reason": "lost"}),
                         ("reissue", {"changes": {"family_name": "Otro"}})):
        r = client.post(f"/api/v1/cards/{number}/{action}", json=body, headers=clerk)
        assert r.status_code == 409 and r.json()["error"] == "card_suspended", action
    client.post(f"/api/v1/cards/{number}/reinstate", headers=clerk)
    client.post(f"/api/v1/cards/{number}/suspend", json={"reason": "reported_lost"},
                headers=clerk)
    r = client.post(f"/api/v1/cards/{number}/replace", json={"reason": "lost"}, headers=clerk)
    assert r.status_code == 201 and r.json()["state"] == "active"


def test_a_change_cannot_remove_a_required_field(client, clerk, card):
    r = client.post(f"/api/v1/cards/{card['card_number']}/reissue",
                    json={"changes": {"given_name": None}}, headers=clerk)
    assert r.status_code == 422
