"""Benefits and redemptions through the API, as partners and administrators use them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest

from idsvc.clock import utcnow
from tests.factories import card_qr, enroll_and_approve, years_ago


def _partner(client, admin, name="Riverton Museum", kind="cultural"):
    partner = client.post("/api/v1/partners", json={"name": name, "kind": kind},
                          headers=admin).json()
    key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
    return partner, {"Authorization": f"Bearer {key['api_key']}"}


def _benefit(client, admin, partner_id, **fields):
    body = {"name": "Free one-year membership", "category": "culture", **fields}
    r = client.post(f"/api/v1/partners/{partner_id}/benefits", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def _redeem(client, headers, benefit_id, *, key=None, **card):
    return client.post("/api/v1/redemptions", json={"benefit_id": benefit_id, **card},
                       headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex})


@pytest.fixture
def museum(client, admin):
    return _partner(client, admin)


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


def test_catalogue_is_public_and_lists_current_benefits(client, admin, museum):
    partner, _ = museum
    _benefit(client, admin, partner["id"])
    _benefit(client, admin, partner["id"], name="Old offer", ends_on="2020-12-31")
    listed = client.get("/api/v1/benefits").json()
    assert [b["name"] for b in listed] == ["Free one-year membership"]
    assert listed[0]["partner"]["name"] == "Riverton Museum"
    assert client.get("/api/v1/benefits?category=pharmacy").json() == []


def test_once_only_benefit_redeems_once(client, admin, museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    first = _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    assert first.status_code == 201, first.text
    assert set(first.json()) >= {"id", "benefit_id", "redeemed_at"}
    again = _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    assert again.status_code == 409 and again.json()["error"] == "already_redeemed"
    assert again.json()["redeemed_at"] == first.json()["redeemed_at"]
    assert again.json()["available_again"] is None


def test_same_card_by_qr_counts_as_the_same_card(client, clerk, admin, museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    assert _redeem(client, headers, benefit["id"],
                   qr=card_qr(client, clerk, card["card_number"])).status_code == 201
    assert _redeem(client, headers, benefit["id"],
                   card_number=card["card_number"]).status_code == 409


def test_idempotency_key_replays_the_first_answer(client, admin, museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    first = _redeem(client, headers, benefit["id"], key="retry-0001",
                    card_number=card["card_number"])
    replay = _redeem(client, headers, benefit["id"], key="retry-0001",
                     card_number=card["card_number"])
    assert replay.status_code == 201 and replay.json() == first.json()
    other = _partner(client, admin, name="Garden")[0]
    other_benefit = _benefit(client, admin, other["id"])
    misuse = _redeem(client, headers, other_benefit["id"], key="retry-0001",
                     card_number=card["card_number"])
    assert misuse.status_code in (403, 422)


def test_missing_idempotency_key_is_422(client, admin, museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    r = client.post("/api/v1/redemptions", json={"benefit_id": benefit["id"],
                                                 "card_number": card["card_number"]},
                    headers=headers)
    assert r.status_code == 422


def test_another_partners_benefit_is_403(client, admin, museum, card):
    other, _ = _partner(client, admin, name="Zoo")
    benefit = _benefit(client, admin, other["id"])
    r = _redeem(client, museum[1], benefit["id"], card_number=card["card_number"])
    assert r.status_code == 403 and r.json()["error"] == "benefit_not_yours"


@pytest.mark.parametrize(("action", "error"), [("revoke", "card_revoked"),
                                               ("suspend", "card_suspended")])
def test_a_card_that_is_not_valid_cannot_redeem(client, clerk, admin, museum, card, action,
                                                error):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    reason = {"revoke": "stolen", "suspend": "investigation"}[action]
    client.post(f"/api/v1/cards/{card['card_number']}/{action}", json={"reason": reason},
                headers=clerk)
    r = _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    assert r.status_code == 422 and r.json()["error"] == error


def test_age_rule(client, clerk, admin, museum):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"], min_age=65)
    young = enroll_and_approve(client, clerk)
    r = _redeem(client, headers, benefit["id"], card_number=young["card_number"])
    assert r.status_code == 422 and r.json() == {**r.json(), "error": "not_eligible",
                                                  "reason": "age"}
    senior = enroll_and_approve(client, clerk, given_name="Rosa",
                                date_of_birth=years_ago(65, days=3).isoformat())
    assert _redeem(client, headers, benefit["id"],
                   card_number=senior["card_number"]).status_code == 201


def test_last_unit_of_a_quota(client, clerk, admin, museum):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"], quota=1)
    first = enroll_and_approve(client, clerk, given_name="Primero")
    second = enroll_and_approve(client, clerk, given_name="Segundo")
    assert _redeem(client, headers, benefit["id"],
                   card_number=first["card_number"]).status_code == 201
    r = _redeem(client, headers, benefit["id"], card_number=second["card_number"])
    assert r.status_code == 422 and r.json()["reason"] == "quota"
    assert client.get("/api/v1/benefits").json()[0]["remaining"] == 0


def test_one_per_household(client, clerk, admin, museum):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"], one_per_household=True)
    first = enroll_and_approve(client, clerk, given_name="Padre")
    sibling = enroll_and_approve(client, clerk, given_name="Hija")
    assert _redeem(client, headers, benefit["id"],
                   card_number=first["card_number"]).status_code == 201
    r = _redeem(client, headers, benefit["id"], card_number=sibling["card_number"])
    assert r.status_code == 422 and r.json()["reason"] == "household"


def test_yearly_benefit_may_be_used_twice_a_year_when_the_limit_says_so(client, admin, museum,
                                                                        card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"], limit={"count": 2, "period": "year"})
    for _ in range(2):
        assert _redeem(client, headers, benefit["id"],
                       card_number=card["card_number"]).status_code == 201
    third = _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    assert third.status_code == 409 and third.json()["available_again"].endswith("-01-01")


def test_void_within_a_day_frees_the_benefit(client, admin, museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    first = _redeem(client, headers, benefit["id"], card_number=card["card_number"]).json()
    voided = client.post(f"/api/v1/redemptions/{first['id']}/void", headers=headers)
    assert voided.status_code == 200 and voided.json()["voided_at"]
    assert client.post(f"/api/v1/redemptions/{first['id']}/void",
                       headers=headers).status_code == 409
    assert _redeem(client, headers, benefit["id"],
                   card_number=card["card_number"]).status_code == 201


def test_partners_read_only_their_own_log_json_and_csv(client, admin, museum, card):
    partner, headers = museum
    _, other_headers = _partner(client, admin, name="Library", kind="library")
    benefit = _benefit(client, admin, partner["id"])
    redeemed = _redeem(client, headers, benefit["id"], card_number=card["card_number"]).json()
    mine = client.get("/api/v1/redemptions", headers=headers).json()
    assert [r["id"] for r in mine] == [redeemed["id"]]
    assert card["card_number"] not in str(mine)  # a pseudonym, never the number
    assert client.get("/api/v1/redemptions", headers=other_headers).json() == []
    as_csv = client.get("/api/v1/redemptions", headers={**headers, "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert [int(r["id"]) for r in rows] == [redeemed["id"]]
    later = client.get("/api/v1/redemptions?from=2999-01-01T00:00:00Z", headers=headers)
    assert later.json() == []
    paged = client.get(f"/api/v1/redemptions?after_id={redeemed['id']}", headers=headers)
    assert paged.json() == []


def test_admin_reads_counts_per_partner_benefit_and_month(client, admin, auditor, clerk,
                                                          museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    counts = client.get("/api/v1/reports/redemptions", headers=auditor).json()
    assert counts[0]["count"] == "<10" and counts[0]["benefit_id"] == benefit["id"]  # 1-9 hidden
    assert len(counts[0]["month"]) == 7
    assert client.get("/api/v1/reports/redemptions", headers=clerk).status_code == 403


def test_void_only_within_24_hours_and_only_your_own(client, admin, museum, card, monkeypatch):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    redeemed = _redeem(client, headers, benefit["id"], card_number=card["card_number"]).json()
    _, stranger = _partner(client, admin, name="Other", kind="transit")
    assert client.post(f"/api/v1/redemptions/{redeemed['id']}/void",
                       headers=stranger).status_code == 404
    later = utcnow() + timedelta(hours=25)
    monkeypatch.setattr("idsvc.benefits.service.utcnow", lambda: later)
    late = client.post(f"/api/v1/redemptions/{redeemed['id']}/void", headers=headers)
    assert late.status_code == 409 and late.json()["error"] == "void_window_over"


def test_voiding_one_use_of_a_two_use_benefit_frees_that_use(client, admin, museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"], limit={"count": 2, "period": "year"})
    first = _redeem(client, headers, benefit["id"], card_number=card["card_number"]).json()
    _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    client.post(f"/api/v1/redemptions/{first['id']}/void", headers=headers)
    assert _redeem(client, headers, benefit["id"],
                   card_number=card["card_number"]).status_code == 201


def test_a_retry_after_the_card_changed_still_gets_the_first_answer(client, clerk, admin,
                                                                    museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    first = _redeem(client, headers, benefit["id"], key="visit-12345",
                    card_number=card["card_number"])
    client.post(f"/api/v1/cards/{card['card_number']}/suspend",
                json={"reason": "investigation"}, headers=clerk)
    retry = _redeem(client, headers, benefit["id"], key="visit-12345",
                    card_number=card["card_number"])
    assert retry.status_code == 201 and retry.json() == first.json()


def test_log_filters_without_a_zone_are_read_as_utc(client, admin, museum, card):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"])
    _redeem(client, headers, benefit["id"], card_number=card["card_number"])
    for value in ("2000-01-01", "2000-01-01T00:00:00"):
        r = client.get(f"/api/v1/redemptions?from={value}", headers=headers)
        assert r.status_code == 200 and len(r.json()) == 1


def test_benefit_updates_refuse_nulls_and_backward_windows(client, admin, museum):
    partner, _ = museum
    benefit = _benefit(client, admin, partner["id"], starts_on="2026-01-01")
    assert client.patch(f"/api/v1/benefits/{benefit['id']}", json={"active": None},
                        headers=admin).status_code == 422
    r = client.patch(f"/api/v1/benefits/{benefit['id']}", json={"ends_on": "2025-01-01"},
                     headers=admin)
    assert r.status_code == 422 and r.json()["error"] == "invalid_window"
    ok = client.patch(f"/api/v1/benefits/{benefit['id']}", json={"active": False},
                      headers=admin)
    assert ok.status_code == 200 and ok.json()["active"] is False


def test_household_rule_uses_the_record_not_the_qr(client, clerk, admin, museum):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"], one_per_household=True)
    long_street = {"line1": "1234 Martin Luther King Jr Boulevard, Building C, Floor 14",
                   "line2": "Unit 1407", "city": "Riverton", "postal_code": "10013"}
    first = enroll_and_approve(client, clerk, given_name="Maximiliana Esperanza",
                               family_name="Villalobos de la Torre", address=long_street)
    second = enroll_and_approve(client, clerk, given_name="Anabel", address=long_street)
    assert _redeem(client, headers, benefit["id"],
                   card_number=first["card_number"]).status_code == 201
    r = _redeem(client, headers, benefit["id"], card_number=second["card_number"])
    assert r.status_code == 422 and r.json()["reason"] == "household"


def test_shelter_residents_do_not_share_a_household(client, clerk, admin, museum):
    partner, headers = museum
    benefit = _benefit(client, admin, partner["id"], one_per_household=True)
    shelter = {"kind": "care_of", "care_of": "Riverside Shelter", "line1": "9 Safe Way",
               "city": "Riverton", "postal_code": "10002"}
    for name in ("Uno", "Dos"):
        card = enroll_and_approve(client, clerk, given_name=name, address=shelter)
        assert _redeem(client, headers, benefit["id"],
                       card_number=card["card_number"]).status_code == 201
