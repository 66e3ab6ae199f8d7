"""Online renewal (issue 9, item 7): inside the window, with the name and address confirmed
unchanged, a new version is mailed; the old card stays valid until the new one is
activated, or until 30 days after posting."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib.resources import files

import pytest
from fastapi.testclient import TestClient

from idsvc.app import create_app
from idsvc.clock import utcnow
from idsvc.db import make_sessionmaker
from tests.cards.test_mailing import (
    activate,
    batch_with_mailer,
    city,
    print_and_post,
    upkeep_after,
)
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.pages import post_form

__all__ = ["city"]  # the operator's deployment fixture, shared with the mailing tests
PIN = "482916"


def login(client, staff, number) -> dict[str, str]:
    code = client.post(f"/api/v1/cards/{number}/activation-code", headers=staff).json()["code"]
    r = client.post("/api/v1/residents/activate",
                    json={"card_number": number, "code": code, "secret": PIN})
    assert r.status_code == 204, r.text
    token = client.post("/api/v1/residents/login",
                        json={"card_number": number, "secret": PIN}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def on(monkeypatch, day: date) -> None:
    monkeypatch.setattr("idsvc.residents.renewal.local_today", lambda _zone: day)


def renew(client, me, unchanged=True):
    return client.post("/api/v1/me/renew", json={"unchanged": unchanged}, headers=me)


def by_qr(client, partner, qr):
    return client.post("/api/v1/verify", json={"qr": qr}, headers=partner).json()["result"]


def by_number(client, partner, number):
    return client.post("/api/v1/verify", json={"card_number": number},
                       headers=partner).json()["result"]


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


@pytest.fixture
def me(client, clerk, card):
    return login(client, clerk, card["card_number"])


@pytest.fixture
def police(client, admin):
    return partner_headers(client, admin)


def test_renewal_only_inside_the_window(client, card, me, monkeypatch):
    expires = date.fromisoformat(card["expires_at"])
    on(monkeypatch, expires - timedelta(days=61))
    offer = client.get("/api/v1/me/renewal", headers=me).json()
    assert offer["offered"] is False and offer["refusal"] == "outside_renewal_window"
    assert offer["full_name"] == "Amaru Quispe Mamani"
    assert offer["address"]["line1"] == "41 Hudson Street"
    early = renew(client, me)
    assert early.status_code == 422 and early.json()["error"] == "outside_renewal_window"
    on(monkeypatch, expires + timedelta(days=184))
    assert renew(client, me).json()["error"] == "outside_renewal_window"
    on(monkeypatch, expires - timedelta(days=60))
    assert client.get("/api/v1/me/renewal", headers=me).json()["offered"] is True
    assert renew(client, me).status_code == 201


def test_the_resident_must_confirm_name_and_address(client, card, me, monkeypatch):
    on(monkeypatch, date.fromisoformat(card["expires_at"]) - timedelta(days=10))
    unconfirmed = renew(client, me, unchanged=False)
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["error"] == "confirmation_required"
    missing = client.post("/api/v1/me/renew", json={}, headers=me)
    assert missing.status_code == 422
    extra = client.post("/api/v1/me/renew", json={"unchanged": True, "citizenship": "x"},
                        headers=me)
    assert extra.status_code == 422
    assert client.get("/api/v1/me/card", headers=me).json()["version"] == 1


def test_old_card_stays_valid_until_the_new_one_is_activated(client, clerk, supervisor, card,
                                                              me, police, auditor, monkeypatch):
    number = card["card_number"]
    old_qr = card_qr(client, clerk, number)
    on(monkeypatch, date.fromisoformat(card["expires_at"]) - timedelta(days=30))
    renewed = renew(client, me)
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["version"] == 2 and renewed.json()["state"] == "mailed"
    new_qr = card_qr(client, clerk, number)
    assert new_qr != old_qr
    # Before activation: the card in the holder's hands still verifies, the new one not.
    assert by_qr(client, police, old_qr) == "valid"
    assert by_number(client, police, number) == "valid"
    assert by_qr(client, police, new_qr) == "suspended"
    again = renew(client, me)
    assert again.status_code == 409 and again.json()["error"] == "renewal_pending"

    _, text, code = batch_with_mailer(client, supervisor)
    assert "Amaru Quispe Mamani" in text
    assert activate(client, number, code).status_code == 200
    # After activation: the old card is revoked, the number stands for the new one.
    assert by_qr(client, police, old_qr) == "revoked"
    assert by_qr(client, police, new_qr) == "valid"
    assert by_number(client, police, number) == "valid"

    today = utcnow().date()
    events = client.get("/api/v1/audit/events", headers=auditor,
                        params={"from": (today - timedelta(days=1)).isoformat(),
                                "to": (today + timedelta(days=1)).isoformat()})
    by_action = {row["action"]: row for row in map(json.loads, events.text.splitlines())}
    for action in ("card.renew_online", "card.activate"):
        assert by_action[action]["actor_type"] == "resident", action


@pytest.mark.parametrize("change, refusal", [
    ("fee_cents = 0", "renewal_fee_due"),
    ("photo_max_age_years = 10", "photo_too_old"),
])
def test_a_fee_or_an_old_photo_sends_the_resident_to_a_desk(database, connection, tmp_path,
                                                            monkeypatch, change, refusal):
    text = files("idsvc.enrollment").joinpath("default_policy.toml").read_text()
    policy = tmp_path / "policy.toml"
    policy.write_text(text.replace(change, {"renewal_fee_due": "fee_cents = 1500",
                                            "photo_too_old": "photo_max_age_years = 1"}[refusal]))
    settings = database.settings.model_copy(update={"policy_file": policy})
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    staff = {"Authorization": f"Bearer {database.tokens['clerk']}"}
    with TestClient(create_app(settings, master_key=database.master_key,
                               sessions=sessions)) as client:
        card = enroll_and_approve(client, staff)
        me = login(client, staff, card["card_number"])
        on(monkeypatch, date.fromisoformat(card["expires_at"]) - timedelta(days=30))
        offer = client.get("/api/v1/me/renewal", headers=me).json()
        assert offer["offered"] is False and offer["refusal"] == refusal
        assert renew(client, me).json()["error"] == refusal


def test_renewing_and_activating_on_the_resident_pages(client, clerk, supervisor, card,
                                                       police, monkeypatch):
    number = card["card_number"]
    login(client, clerk, number)  # sets the PIN
    assert post_form(client, "/resident/login", {"card_number": number, "secret": PIN},
                     page="/resident/login").status_code == 303
    expires = date.fromisoformat(card["expires_at"])

    def page_on(day: date) -> None:
        on(monkeypatch, day)
        monkeypatch.setattr("idsvc.residents.pages.local_today", lambda _zone: day)

    page_on(expires - timedelta(days=61))
    assert 'href="/resident/renew"' not in client.get("/resident/").text
    page_on(expires - timedelta(days=20))
    assert 'id="renew-online"' in client.get("/resident/").text
    form = client.get("/resident/renew")
    assert form.status_code == 200
    assert "Amaru Quispe Mamani" in form.text and "41 Hudson Street" in form.text
    unconfirmed = post_form(client, "/resident/renew", page="/resident/renew")
    assert unconfirmed.status_code == 422 and 'role="alert"' in unconfirmed.text
    done = post_form(client, "/resident/renew", {"unchanged": "true"}, page="/resident/renew")
    assert done.status_code == 200, done.text

    page = client.get("/resident/").text
    assert 'action="/resident/card/activate"' in page
    assert by_number(client, police, number) == "valid"
    _, _, code = batch_with_mailer(client, supervisor)
    wrong = post_form(client, "/resident/card/activate", {"code": "AAAABBBBCCCC"},
                      page="/resident/")
    assert wrong.status_code == 401
    activated = post_form(client, "/resident/card/activate", {"code": code}, page="/resident/")
    assert activated.status_code == 303
    assert 'action="/resident/card/activate"' not in client.get("/resident/").text
    assert client.get("/api/v1/cards/" + number, headers=clerk).json()["version"] == 2


def test_the_old_card_is_revoked_30_days_after_posting_anyway(city, tmp_path, monkeypatch):
    client, boss, run = city
    police = partner_headers(client, boss)
    card = enroll_and_approve(client, boss)
    number = card["card_number"]
    old_qr = card_qr(client, boss, number)
    me = login(client, boss, number)
    on(monkeypatch, date.fromisoformat(card["expires_at"]) - timedelta(days=30))
    assert renew(client, me).status_code == 201
    print_and_post(run, tmp_path)
    assert "revoked 0 cards" in upkeep_after(run, monkeypatch, days=29)
    assert by_qr(client, police, old_qr) == "valid"
    assert by_number(client, police, number) == "valid"
    assert "revoked 1 cards" in upkeep_after(run, monkeypatch, days=31)
    assert by_qr(client, police, old_qr) == "revoked"
    assert by_number(client, police, number) == "revoked"


def test_reporting_the_card_lost_during_a_renewal_suspends_the_card_in_hand(
        client, clerk, supervisor, card, me, police, monkeypatch):
    number = card["card_number"]
    old_qr = card_qr(client, clerk, number)
    on(monkeypatch, date.fromisoformat(card["expires_at"]) - timedelta(days=30))
    assert renew(client, me).status_code == 201
    lost = client.post("/api/v1/me/report-lost", json={"reason": "lost"}, headers=me)
    assert lost.status_code == 200, lost.text
    assert lost.json()["version"] == 1 and lost.json()["state"] == "suspended"
    assert by_qr(client, police, old_qr) == "suspended"
    assert by_number(client, police, number) == "suspended"
    # The renewal in the post arrives: activating it retires the lost card for good.
    _, _, code = batch_with_mailer(client, supervisor)
    assert activate(client, number, code).status_code == 200
    assert by_qr(client, police, old_qr) == "revoked"
    assert by_number(client, police, number) == "valid"
