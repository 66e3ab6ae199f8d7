"""An administrator in a real browser: a partner and its key, a benefit, the signing keys
and the reports with data; every page passes axe-core (WCAG 2.1 AA)."""

from __future__ import annotations

import re

import httpx

from tests.browser.conftest import check_accessibility, screenshot, staff_login
from tests.conftest import PASSWORD
from tests.factories import enroll_and_approve


def _token(api: httpx.Client, username: str) -> dict[str, str]:
    r = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _seed(url: str) -> None:
    """A card, a bank partner that checked it 12 times and a museum that redeemed it once."""
    with httpx.Client(base_url=url, timeout=30) as api:
        clerk, admin = _token(api, "clerk"), _token(api, "admin")
        card = enroll_and_approve(api, clerk)  # type: ignore[arg-type]
        bank = api.post("/api/v1/partners", json={"name": "First Bank", "kind": "bank"},
                        headers=admin).json()
        key = api.post(f"/api/v1/partners/{bank['id']}/keys", headers=admin).json()["api_key"]
        for _ in range(12):
            r = api.post("/api/v1/verify", json={"card_number": card["card_number"]},
                         headers={"Authorization": f"Bearer {key}"})
            assert r.json()["result"] == "valid"
        museum = api.post("/api/v1/partners", json={"name": "City Museum", "kind": "cultural"},
                          headers=admin).json()
        museum_key = api.post(f"/api/v1/partners/{museum['id']}/keys",
                              headers=admin).json()["api_key"]
        benefit = api.post(f"/api/v1/partners/{museum['id']}/benefits",
                           json={"name": "Free entry"}, headers=admin).json()
        r = api.post("/api/v1/redemptions", json={"benefit_id": benefit["id"],
                                                  "card_number": card["card_number"]},
                     headers={"Authorization": f"Bearer {museum_key}",
                              "Idempotency-Key": "browser-seed-1"})
        assert r.status_code == 201, r.text


def test_admin_manages_partners_benefits_keys_and_reads_reports(page, site):
    _seed(site.url)
    staff_login(page, "admin")
    assert page.url.endswith("/admin/")
    check_accessibility(page)
    screenshot(page, "admin-home")

    page.get_by_role("link", name=re.compile("^Partners")).first.click()
    page.get_by_label("Name").fill("Riverton Library")
    page.get_by_label("Kind").select_option("library")
    page.get_by_role("button", name="Add partner").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Riverton Library"
    page.get_by_label("Age group").uncheck()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "The settings were saved."
    assert not page.get_by_label("Age group").is_checked()
    check_accessibility(page)
    screenshot(page, "admin-partner")

    page.get_by_label("Label of the new key").fill("front desk")
    page.get_by_role("button", name="Create an API key").click()
    page.wait_for_load_state()
    secret = page.locator("#new-key").inner_text()
    assert secret.startswith("idsvc_")
    check_accessibility(page)
    screenshot(page, "admin-key-created")
    page.get_by_role("link", name=re.compile("I have stored the key")).click()
    page.wait_for_load_state()
    assert secret not in page.content()

    page.get_by_role("link", name="Benefits this partner offers").click()
    page.get_by_role("link", name="Add a benefit").click()
    page.get_by_label("Name").fill("Free library card for teens")
    page.get_by_label("Minimum age").fill("19")
    page.get_by_label("Maximum age").fill("13")
    page.get_by_role("button", name="Add benefit").click()
    page.wait_for_load_state()
    error = page.locator("#max_age-error").inner_text()
    assert error == "The maximum age is below the minimum age."
    check_accessibility(page)
    page.get_by_label("Minimum age").fill("13")
    page.get_by_label("Maximum age").fill("19")
    page.get_by_role("button", name="Add benefit").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Free library card for teens").is_visible()
    check_accessibility(page)

    page.goto("/admin/keys")
    check_accessibility(page)
    screenshot(page, "admin-keys")
    page.goto("/admin/staff")
    check_accessibility(page)

    page.goto("/admin/reports")
    assert page.locator("svg[role=img]").count() == 3
    assert page.get_by_role("cell", name="12").first.is_visible()
    check_accessibility(page)
    screenshot(page, "admin-reports")


def test_reports_read_right_to_left(page, site):
    _seed(site.url)
    staff_login(page, "auditor")
    assert page.url.endswith("/admin/reports")
    page.get_by_label("Language").select_option("ar")
    page.locator(".language-picker button").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    check_accessibility(page)
    screenshot(page, "admin-reports-arabic")
