"""The clerk's card pages: find a presented card, see it, print it, change its state."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from idsvc.audit.models import AuditEvent
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.pages import csrf, post_form, staff_login


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


def events(connection, action: str) -> list[AuditEvent]:
    with Session(connection) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                                 .order_by(AuditEvent.id)))  # type: ignore[arg-type]


def search(client, **fields: str):
    return post_form(client, "/clerk/cards/find", fields, page="/clerk/cards/find")


def act(client, number: str, action: str, data: dict[str, str] | None = None):
    return post_form(client, f"/clerk/cards/{number}/{action}", data,
                     page=f"/clerk/cards/{number}/{action}")


def verdict(client, partner: dict[str, str], **body: str) -> str:
    response = client.post("/api/v1/verify", json=body, headers=partner)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_find_by_card_number(client, card):
    staff_login(client, "clerk")
    number = card["card_number"]
    spaced = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    found = client.get("/clerk/cards/find", params={"number": spaced}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/clerk/cards/{number}"
    missing = client.get("/clerk/cards/find", params={"number": "0000 0000 0000"})
    assert missing.status_code == 404 and "No card has that number" in missing.text


def test_find_by_exact_name_and_birth_date_only(client, card, connection):
    staff_login(client, "clerk")
    number = card["card_number"]
    exact = search(client, given_name="Amaru", family_name="Quispe Mamani",
                   date_of_birth="1988-04-17")
    assert exact.status_code == 200 and f'href="/clerk/cards/{number}"' in exact.text
    # Case and accents fold the way the blind index folds them; the name must still be whole.
    folded = search(client, given_name="AMARU", family_name="quispe mamani",
                    date_of_birth="1988-04-17")
    assert f"/clerk/cards/{number}" in folded.text
    for partial in ({"given_name": "Amaru", "family_name": ""},
                    {"given_name": "Amaru", "family_name": "Quispe"},
                    {"given_name": "Amar", "family_name": "Quispe Mamani"}):
        page = search(client, date_of_birth="1988-04-17", **partial)
        assert number not in page.text and "No card matches" in page.text
    other_day = search(client, given_name="Amaru", family_name="Quispe Mamani",
                       date_of_birth="1988-04-18")
    assert number not in other_day.text
    incomplete = search(client, given_name="Amaru", family_name="Quispe Mamani")
    assert incomplete.status_code == 422
    logged = events(connection, "card.search")
    assert len(logged) == 6  # the incomplete form searched nothing
    assert json.loads(logged[0].details)["results"] == 1
    assert json.loads(logged[2].details)["results"] == 0
    assert "Amaru" not in logged[0].details and "1988" not in logged[0].details
    assert logged[0].actor_type == "staff" and logged[0].actor_id


def test_the_card_page_is_an_audited_read_with_previews_and_print(client, card, connection):
    staff_login(client, "clerk")
    number = card["card_number"]
    before = len(events(connection, "card.read"))
    page = client.get(f"/clerk/cards/{number}")
    assert page.status_code == 200 and "Amaru Quispe Mamani" in page.text
    assert len(events(connection, "card.read")) == before + 1
    for name, kind in (("front.png", "image/png"), ("back.png", "image/png"),
                       ("card.pdf", "application/pdf")):
        assert f"/api/v1/cards/{number}/{name}" in page.text
        response = client.get(f"/api/v1/cards/{number}/{name}")  # the page cookie suffices
        assert response.status_code == 200 and response.headers["content-type"] == kind


def test_an_activation_code_is_shown_once(client, card, connection):
    staff_login(client, "clerk")
    number = card["card_number"]
    issued = post_form(client, f"/clerk/cards/{number}/activation-code",
                       page=f"/clerk/cards/{number}")
    assert issued.status_code == 200 and "shown only this once" in issued.text
    assert len(events(connection, "resident.activation_code")) == 1
    assert "shown only this once" not in client.get(f"/clerk/cards/{number}").text


def test_each_lifecycle_action_changes_the_verdict(client, admin, card):
    police = partner_headers(client, admin)
    number = card["card_number"]
    staff_login(client, "clerk")
    assert verdict(client, police, card_number=number) == "valid"

    confirm = client.get(f"/clerk/cards/{number}/suspend")
    assert confirm.status_code == 200 and "stops verifying" in confirm.text
    no_reason = act(client, number, "suspend", {"reason": ""})
    assert no_reason.status_code == 422 and "Choose a reason" in no_reason.text
    done = act(client, number, "suspend", {"reason": "reported_lost"})
    assert done.headers["location"] == f"/clerk/cards/{number}?done=suspend"
    assert "The card was suspended." in client.get(done.headers["location"]).text
    assert verdict(client, police, card_number=number) == "suspended"

    act(client, number, "reinstate")
    assert verdict(client, police, card_number=number) == "valid"

    replaced = act(client, number, "replace", {"reason": "lost", "fee": "12.50"})
    assert replaced.status_code == 303
    assert verdict(client, police, card_number=number) == "valid"
    page = client.get(f"/clerk/cards/{number}").text
    assert "<dt>Version</dt><dd>2</dd>" in page

    revoked = act(client, number, "revoke", {"reason": "fraud"})
    assert revoked.status_code == 303
    assert verdict(client, police, card_number=number) == "revoked"
    again = act(client, number, "revoke", {"reason": "fraud"})
    assert again.status_code == 409 and "already revoked" in again.text


def test_a_replaced_card_stops_verifying(client, admin, clerk, card):
    police = partner_headers(client, admin)
    number = card["card_number"]
    old_qr = card_qr(client, clerk, number)
    staff_login(client, "clerk")
    waived = act(client, number, "replace", {"reason": "stolen", "fee_waived": "yes"})
    assert waived.status_code == 303
    assert verdict(client, police, qr=old_qr) == "revoked"
    assert verdict(client, police, qr=card_qr(client, clerk, number)) == "valid"


def test_renewal_outside_the_window_is_refused_with_the_dates(client, admin, card,
                                                               monkeypatch):
    police = partner_headers(client, admin)
    number, expires = card["card_number"], date.fromisoformat(card["expires_at"])
    opens, closes = expires - timedelta(days=60), expires + timedelta(days=183)
    staff_login(client, "clerk")
    page = client.get(f"/clerk/cards/{number}").text
    assert "Renewal is possible from" in page and f'href="/clerk/cards/{number}/renew"' not in page
    refused = act(client, number, "renew", {"fee": "10"})
    assert refused.status_code == 422
    assert f"from {opens.isoformat()} to {closes.isoformat()}" in refused.text
    monkeypatch.setattr("idsvc.cards.pages.local_today", lambda _zone: opens)
    assert f'href="/clerk/cards/{number}/renew"' in client.get(f"/clerk/cards/{number}").text
    renewed = act(client, number, "renew", {"fee": "10.00"})
    assert renewed.status_code == 303
    assert verdict(client, police, card_number=number) == "valid"
    assert "<dt>Version</dt><dd>2</dd>" in client.get(f"/clerk/cards/{number}").text


def test_unknown_fields_and_missing_tokens_are_refused(client, card):
    staff_login(client, "clerk")
    number = card["card_number"]
    extra = act(client, number, "revoke", {"reason": "lost", "nationality": "x"})
    assert extra.status_code == 422
    forged = client.post(f"/clerk/cards/{number}/revoke", data={"reason": "lost"},
                         follow_redirects=False)
    assert forged.status_code == 403
    assert "Active" in client.get(f"/clerk/cards/{number}").text
    csrf(client, "/clerk/cards/find")
    assert client.get(f"/clerk/cards/{number}/explode").status_code == 404


def test_who_may_open_the_card_pages(client, card):
    number = card["card_number"]
    anonymous = client.get(f"/clerk/cards/{number}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith(
        "/staff/login?next=")
    staff_login(client, "auditor")
    assert client.get(f"/clerk/cards/{number}").status_code == 403
    assert client.get("/clerk/cards/find").status_code == 403
