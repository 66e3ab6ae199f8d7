"""Cards sent by post: not valid until activated with the mailer's one-time code, and
suspended when never activated (issue 9, item 6)."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from idsvc.app import create_app
from idsvc.clock import utcnow
from idsvc.config import get_settings
from tests.commands import idsvc_commands
from tests.conftest import PASSWORD
from tests.factories import applicant, card_qr, enroll, partner_headers
from tests.pages import csrf, post_form

CODE = re.compile(r"\b([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\b")


def approve(client, staff, *, delivery="mail", **fields):
    application = enroll(client, staff, **fields)
    return client.post(f"/api/v1/applications/{application['id']}/approve",
                       json={"delivery": delivery}, headers=staff)


def verdicts(client, partner, staff, number):
    """The verdict by number and by the card's QR."""
    by_number = client.post("/api/v1/verify", json={"card_number": number}, headers=partner)
    by_qr = client.post("/api/v1/verify", json={"qr": card_qr(client, staff, number)},
                        headers=partner)
    return by_number.json()["result"], by_qr.json()["result"]


def mailer_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def batch_with_mailer(client, staff) -> tuple[int, str, str]:
    """A print batch of the waiting cards, and its mailers: (batch id, letters' text, code)."""
    made = client.post("/api/v1/print-batches", json={}, headers=staff)
    assert made.status_code == 201, made.text
    batch = made.json()["id"]
    letters = client.post(f"/api/v1/print-batches/{batch}/mailers", headers=staff)
    assert letters.status_code == 200, letters.text
    assert letters.headers["content-type"] == "application/pdf"
    text = mailer_text(letters.content)
    return batch, text, CODE.search(text).group(1)


def activate(client, number, code):
    return client.post("/api/v1/cards/activate", json={"card_number": number, "code": code})


@pytest.fixture
def police(client, admin):
    return partner_headers(client, admin)


def test_a_mailed_card_works_only_once_activated(client, clerk, supervisor, auditor, police):
    issued = approve(client, clerk)
    assert issued.status_code == 201, issued.text
    assert issued.json()["state"] == "mailed"
    number = issued.json()["card_number"]
    assert verdicts(client, police, clerk, number) == ("suspended", "suspended")

    batch = client.post("/api/v1/print-batches", json={}, headers=supervisor).json()
    assert number in batch["card_numbers"]
    refused = client.post(f"/api/v1/print-batches/{batch['id']}/posted", headers=supervisor)
    assert refused.status_code == 422 and refused.json()["error"] == "nothing_to_post"
    first = mailer_text(client.post(f"/api/v1/print-batches/{batch['id']}/mailers",
                                    headers=supervisor).content)
    assert "Amaru Quispe Mamani" in first and "41 Hudson Street" in first
    assert "10013 Riverton" in first and "/card/activate" in first
    old_code = CODE.search(first).group(1)
    # Reprinting draws new codes: the first printout's code no longer works.
    again = mailer_text(client.post(f"/api/v1/print-batches/{batch['id']}/mailers",
                                    headers=supervisor).content)
    code = CODE.search(again).group(1)
    assert code != old_code
    posted = client.post(f"/api/v1/print-batches/{batch['id']}/posted", headers=supervisor)
    assert posted.status_code == 200 and posted.json() == {"id": batch["id"], "posted": 1}

    assert activate(client, number, old_code).status_code == 401
    wrong = activate(client, number, "AAAA-BBBB-CCCC")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_card_activation"
    assert verdicts(client, police, clerk, number) == ("suspended", "suspended")

    done = activate(client, number, code.lower().replace("-", " "))
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "active"
    assert verdicts(client, police, clerk, number) == ("valid", "valid")
    assert activate(client, number, code).status_code == 401  # one time only

    today = utcnow().date()
    events = client.get("/api/v1/audit/events", headers=auditor,
                        params={"from": (today - timedelta(days=1)).isoformat(),
                                "to": (today + timedelta(days=1)).isoformat()})
    actions = [json.loads(line)["action"] for line in events.text.splitlines()]
    for action in ("card.mail", "card.mailer", "print_batch.mailers", "card.posted",
                   "print_batch.posted", "card.activate"):
        assert action in actions, action


def test_wrong_codes_count_toward_a_lockout(client, clerk, supervisor, monkeypatch):
    number = approve(client, clerk).json()["card_number"]
    _, _, code = batch_with_mailer(client, supervisor)
    for _ in range(4):  # three free tries, then the back-off starts
        assert activate(client, number, "AAAA-BBBB-CCCC").status_code == 401
    locked = activate(client, number, code)
    assert locked.status_code == 401 and locked.json()["error"] == "invalid_card_activation"
    later = utcnow() + timedelta(seconds=31)
    monkeypatch.setattr("idsvc.cards.activation.utcnow", lambda: later)
    assert activate(client, number, code).status_code == 200


def test_mail_needs_a_street_address(client, clerk):
    shelter = applicant()["address"] | {"kind": "care_of", "care_of": "Harbor Shelter"}
    refused = approve(client, clerk, address=shelter)
    assert refused.status_code == 422 and refused.json()["error"] == "address_not_mailable"
    desk = approve(client, clerk, delivery="desk", given_name="Killa")
    assert desk.status_code == 201 and desk.json()["state"] == "active"
    other = approve(client, clerk, delivery="by_pigeon", given_name="Inti")
    assert other.status_code == 422


def test_the_public_page_activates_a_card(client, clerk, supervisor, police):
    number = approve(client, clerk).json()["card_number"]
    _, _, code = batch_with_mailer(client, supervisor)
    page = client.get("/card/activate")
    assert page.status_code == 200 and 'action="/card/activate"' in page.text
    wrong = post_form(client, "/card/activate", {"card_number": number, "code": "AAAABBBBCCCC"},
                      page="/card/activate")
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text
    done = post_form(client, "/card/activate", {"card_number": number, "code": code},
                     page="/card/activate")
    assert done.status_code == 200, done.text
    assert verdicts(client, police, clerk, number) == ("valid", "valid")


def test_the_resident_card_page_activates_a_mailed_card(client, clerk, supervisor, police):
    number = approve(client, clerk).json()["card_number"]
    pin_code = client.post(f"/api/v1/cards/{number}/activation-code", headers=clerk).json()
    assert client.post("/api/v1/residents/activate", json={
        "card_number": number, "code": pin_code["code"], "secret": "482916"}).status_code == 204
    assert post_form(client, "/resident/login", {"card_number": number, "secret": "482916"},
                     page="/resident/login").status_code == 303
    page = client.get("/resident/").text
    assert "state-mailed" in page and 'action="/resident/card/activate"' in page
    _, _, code = batch_with_mailer(client, supervisor)
    done = post_form(client, "/resident/card/activate", {"code": code}, page="/resident/")
    assert done.status_code == 303
    assert "state-valid" in client.get("/resident/").text
    assert verdicts(client, police, clerk, number) == ("valid", "valid")


def test_the_clerk_review_page_offers_mail(client, clerk):
    application = enroll(client, clerk)
    post_form(client, "/staff/login", {"username": "supervisor", "password": PASSWORD},
              page="/staff/login")
    review = client.get(f"/clerk/applications/{application['id']}/review")
    assert 'name="delivery" value="mail"' in review.text
    approved = client.post(f"/clerk/applications/{application['id']}/approve",
                           data={"csrf_token": csrf(client, "/staff/login"),
                                 "delivery": "mail"}, follow_redirects=False)
    assert approved.status_code == 303, approved.text
    number = approved.headers["location"].rsplit("/", 1)[1]
    state = client.get(f"/api/v1/cards/{number}", headers=clerk).json()["state"]
    assert state == "mailed"


# --- the upkeep command, on a database that really commits ------------------------------

@pytest.fixture
def city(scratch_url, tmp_path, monkeypatch):
    """An operator's deployment, an API client logged in as its administrator, and `run`."""
    invoke = idsvc_commands(monkeypatch, database_url=scratch_url,
                            keys_dir=str(tmp_path / "keys"), change_poll_seconds="0",
                            verification_events="inline", cookie_secure="false")
    invoke("db", "upgrade")
    invoke("keys", "generate")
    invoke("centre", "create", "CENTRAL", "Central")
    invoke("staff", "create", "boss", "--role", "admin", "--centre", "CENTRAL",
           "--password", PASSWORD)
    with TestClient(create_app(get_settings())) as client:
        token = client.post("/api/v1/auth/token", data={
            "username": "boss", "password": PASSWORD}).json()["access_token"]
        yield client, {"Authorization": f"Bearer {token}"}, invoke
    get_settings.cache_clear()


def print_and_post(run, tmp_path) -> None:
    """Print the waiting cards with their mailers (one with a code) and post them."""
    sheet, letters = tmp_path / "sheet.pdf", tmp_path / "mailers.pdf"
    out = run("card", "print-batch", "--out", str(sheet), "--mailers", str(letters)).output
    assert "1 mailers in" in out
    assert CODE.search(mailer_text(letters.read_bytes())) is not None
    run("card", "posted", "1")


def upkeep_after(run, monkeypatch, *, days: int) -> str:
    """`idsvc card suspend-unactivated` run `days` from now."""
    moment = utcnow() + timedelta(days=days)
    monkeypatch.setattr("idsvc.cards.mailing_cli.utcnow", lambda: moment)
    return run("card", "suspend-unactivated").output


def test_a_card_never_activated_is_suspended_and_a_clerk_can_reinstate_it(
        city, tmp_path, monkeypatch):
    client, boss, run = city
    police = partner_headers(client, boss)
    number = approve(client, boss).json()["card_number"]
    print_and_post(run, tmp_path)
    assert "suspended 0 mailed cards" in upkeep_after(run, monkeypatch, days=29)
    assert "suspended 1 mailed cards" in upkeep_after(run, monkeypatch, days=31)
    card = client.get(f"/api/v1/cards/{number}", headers=boss).json()
    assert card["state"] == "suspended"
    assert verdicts(client, police, boss, number) == ("suspended", "suspended")
    post_form(client, "/staff/login", {"username": "boss", "password": PASSWORD},
              page="/staff/login")
    assert "(not activated)" in client.get(f"/clerk/cards/{number}").text
    states = client.post(f"/api/v1/cards/{number}/reinstate", headers=boss)
    assert states.status_code == 200, states.text
    assert verdicts(client, police, boss, number) == ("valid", "valid")


def test_a_compromised_key_reissues_a_mailed_card_for_a_new_mailer(city):
    client, boss, run = city
    police = partner_headers(client, boss)
    number = approve(client, boss).json()["card_number"]
    _, _, old_code = batch_with_mailer(client, boss)
    kid = client.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
    assert client.post(f"/api/v1/keys/{kid}/compromised", headers=boss).status_code == 200
    assert run("keys", "affected", "--", kid).output == f"{number} v1 mailed\n"
    run("keys", "reissue", "--", kid)
    card = client.get(f"/api/v1/cards/{number}", headers=boss).json()
    assert card["version"] == 2 and card["state"] == "mailed"  # still needs its holder
    assert verdicts(client, police, boss, number) == ("suspended", "suspended")
    assert activate(client, number, old_code).status_code == 401  # the old mailer is void
    _, _, code = batch_with_mailer(client, boss)
    assert activate(client, number, code).status_code == 200
    assert verdicts(client, police, boss, number) == ("valid", "valid")
