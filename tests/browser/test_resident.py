"""A resident in a real browser: activate, log in, my card, language, lost card; the
public catalogue. Every page passes axe-core; the main page is also tried on a phone."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.browser.conftest import check_accessibility, screenshot
from tests.conftest import PASSWORD
from tests.factories import enroll_and_approve

PIN = "739184"
PHONE = {"width": 390, "height": 844}


def _token(api: httpx.Client, username: str) -> dict[str, str]:
    response = api.post("/api/v1/auth/token", data={"username": username,
                                                    "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def seeded(site):
    """A card with an activation code, a museum that checked it once and a benefit it used,
    seeded through the staff and partner APIs."""
    with httpx.Client(base_url=site.url, timeout=30) as api:
        clerk, admin = _token(api, "clerk"), _token(api, "admin")
        card = enroll_and_approve(api, clerk, preferred_languages=["eng"])  # type: ignore[arg-type]
        number = card["card_number"]
        code = api.post(f"/api/v1/cards/{number}/activation-code", headers=clerk)
        assert code.status_code == 201, code.text
        museum = api.post("/api/v1/partners", json={"name": "Riverton Museum",
                                                    "kind": "cultural"}, headers=admin).json()
        key = api.post(f"/api/v1/partners/{museum['id']}/keys", headers=admin).json()
        museum_key = {"Authorization": f"Bearer {key['api_key']}"}
        used = api.post(f"/api/v1/partners/{museum['id']}/benefits",
                        json={"name": "Free entry", "category": "culture",
                              "limit": {"period": "year"}}, headers=admin).json()
        api.post(f"/api/v1/partners/{museum['id']}/benefits",
                 json={"name": "Family workshop", "category": "culture", "quota": 25,
                       "one_per_household": True}, headers=admin)
        api.post(f"/api/v1/partners/{museum['id']}/benefits",
                 json={"name": "Senior tour", "category": "culture", "min_age": 65},
                 headers=admin)
        assert api.post("/api/v1/verify", json={"card_number": number},
                        headers=museum_key).json()["result"] == "valid"
        redeemed = api.post("/api/v1/redemptions",
                            json={"benefit_id": used["id"], "card_number": number},
                            headers={**museum_key, "Idempotency-Key": uuid.uuid4().hex})
        assert redeemed.status_code == 201, redeemed.text
    return {"number": number, "code": code.json()["code"], "partner": museum_key}


def test_resident_activates_checks_card_and_reports_it_lost(page, site, seeded):
    number = seeded["number"]
    page.goto("/resident/activate")
    check_accessibility(page)
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Activation code").fill(seeded["code"])
    page.get_by_label("New PIN", exact=True).fill(PIN)
    page.get_by_label("New PIN again").fill("111111")
    page.get_by_role("button", name="Set up my account").click()
    assert "not the same" in page.get_by_role("alert").inner_text()
    check_accessibility(page)
    page.get_by_label("New PIN", exact=True).fill(PIN)
    page.get_by_label("New PIN again").fill(PIN)
    page.get_by_role("button", name="Set up my account").click()
    page.wait_for_url("**/resident/login?activated=1")
    check_accessibility(page)
    screenshot(page, "resident-login")

    page.get_by_label("Card number").fill(number)
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/resident/")
    assert page.get_by_role("heading", level=1).inner_text() == "My card"
    assert "Valid: your card works." in page.locator(".state").inner_text()
    assert page.locator(".facts .number").inner_text() == number
    check_accessibility(page)
    screenshot(page, "resident-card")

    benefits = page.locator("#benefits")
    assert "You can use it now." in benefits.inner_text()  # the family workshop
    assert "Available again on" in benefits.inner_text()  # the free entry, used
    assert "Riverton Museum" in page.get_by_role("table").first.inner_text()

    page.set_viewport_size(PHONE)
    page.goto("/resident/#benefits")
    check_accessibility(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "resident-benefits")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_label("Language").select_option("es")
    page.locator(".language-picker button").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.url.endswith("/resident/")
    check_accessibility(page)

    page.goto("/resident/settings")
    check_accessibility(page)
    screenshot(page, "resident-settings")

    page.goto("/resident/report-lost")
    check_accessibility(page)
    screenshot(page, "resident-report-lost")
    page.locator("#reason-stolen").check()
    page.locator("button.danger").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert number in page.get_by_role("status").inner_text()
    check_accessibility(page)
    with httpx.Client(base_url=site.url) as api:
        verdict = api.post("/api/v1/verify", json={"card_number": number},
                           headers=seeded["partner"]).json()
    assert verdict["result"] == "suspended"
    page.goto("/resident/")
    assert "/resident/login" in page.url  # the session ended with the card


def test_public_catalogue_with_filters(page, seeded):
    page.goto("/benefits")
    check_accessibility(page)
    assert page.get_by_role("status").inner_text() == "3 benefits"
    screenshot(page, "benefits-catalogue")
    page.get_by_label("Kind of benefit").select_option("culture")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "category=culture" in page.url
    assert page.get_by_role("status").inner_text() == "3 benefits"
    page.set_viewport_size(PHONE)
    check_accessibility(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
