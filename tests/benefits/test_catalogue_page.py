"""The public benefit catalogue page: no login, the same benefits as GET /api/v1/benefits."""

from __future__ import annotations

import html
import re

import pytest

from idsvc.web.i18n import LANGUAGE_COOKIE


def _text(response):
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))


def _partner(client, admin, name, kind):
    response = client.post("/api/v1/partners", json={"name": name, "kind": kind}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _benefit(client, admin, partner_id, **fields):
    response = client.post(f"/api/v1/partners/{partner_id}/benefits", json=fields,
                           headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def offers(client, admin):
    museum = _partner(client, admin, "Riverton Museum", "cultural")
    pharmacy = _partner(client, admin, "Main Street Pharmacy", "pharmacy")
    _benefit(client, admin, museum, name="Free entry", category="culture",
             limit={"count": 2, "period": "year"}, min_age=18, quota=40)
    _benefit(client, admin, museum, name="Family day", category="culture",
             one_per_household=True)
    _benefit(client, admin, pharmacy, name="Flu shot", category="health", min_age=65,
             limit={"period": "year"})
    retired = _benefit(client, admin, pharmacy, name="Old coupon", category="health")
    assert client.patch(f"/api/v1/benefits/{retired}", json={"active": False},
                        headers=admin).status_code == 200
    client.cookies.set(LANGUAGE_COOKIE, "en")
    return {"museum": museum, "pharmacy": pharmacy}


def test_catalogue_lists_active_benefits_without_login(client, offers):
    page = client.get("/benefits")
    assert page.status_code == 200
    text = _text(page)
    assert "3 benefits" in text and "Old coupon" not in text
    assert re.search(r"Free entry Riverton Museum \(museum or culture\) Age 18 and over "
                     r"2 times a year 40 left", text)
    assert "Family day" in text and "One per household (address)" in text
    assert re.search(r"Flu shot Main Street Pharmacy \(pharmacy\) Age 65 and over Once a year",
                     text)
    api = {b["name"] for b in client.get("/api/v1/benefits").json()}
    assert api == {"Free entry", "Family day", "Flu shot"}


def test_catalogue_filters_by_category_and_partner(client, offers):
    health = _text(client.get("/benefits", params={"category": "health"}))
    assert "1 benefit" in health and "Flu shot" in health and "Free entry" not in health
    museum = client.get("/benefits", params={"partner": str(offers["museum"]),
                                             "category": ""})
    text = _text(museum)
    assert "2 benefits" in text and "Flu shot" not in text
    assert f'<option value="{offers["museum"]}" selected>' in museum.text
    both = _text(client.get("/benefits", params={"partner": str(offers["museum"]),
                                                 "category": "health"}))
    assert "0 benefits" in both and "No benefits match" in both
    # A partner filter that is not a number shows everything rather than failing.
    assert "3 benefits" in _text(client.get("/benefits", params={"partner": "x"}))
