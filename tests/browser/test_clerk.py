"""The clerk's path in a real browser: login, the wizard, approval and the printable card."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    check_accessibility,
    screenshot,
    staff_login,
)
from tests.conftest import PASSWORD
from tests.factories import applicant, portrait


def _seed_application(url: str) -> None:
    """One application taken earlier today, through the API, so the day list has a row."""
    with httpx.Client(base_url=url) as api:
        token = api.post("/api/v1/auth/token",
                         data={"username": "clerk", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        created = api.post("/api/v1/applications", headers=headers,
                           json=applicant(given_name="Wayra", date_of_birth="1990-02-02"))
        assert created.status_code == 201, created.text


def _loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_clerk_enrolls_and_prints_a_card(page, site):
    _seed_application(site.url)
    staff_login(page, "clerk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today's applications")
    expect(page.locator("tbody tr")).to_have_count(1)
    check_accessibility(page)
    screenshot(page, "clerk-dashboard")

    page.locator(".tiles").get_by_role("link", name="New application").click()
    expect(page.locator('.steps [aria-current="step"]')).to_contain_text("Personal details")
    page.locator("#f-given_name").fill("Amaru")
    page.locator("#f-family_name").fill("Quispe Mamani")
    page.locator("#f-date_of_birth").fill("1988-04-17")
    page.get_by_label("X", exact=True).check()
    page.locator("#f-address_line1").fill("41 Hudson Street")
    page.locator("#f-address_city").fill("Riverton")
    page.locator("#f-address_postal_code").fill("10013")
    page.get_by_label("First language").select_option("spa")
    page.get_by_label("Organ donor").check()
    check_accessibility(page)
    screenshot(page, "clerk-details")
    page.get_by_role("button", name="Save and continue to documents").click()

    expect(page.locator('.steps [aria-current="step"]')).to_contain_text("Documents")
    total = page.locator('[data-tally="total"]')
    expect(total).to_have_text("0")
    page.get_by_label("Passport (any country)").check()
    expect(page.locator('[data-tally="identity"]')).to_have_text("3")
    expect(page.locator('[data-gap="residency_points"]')).to_be_visible()
    expect(page.locator('[data-gap="photo_document"]')).to_be_hidden()
    page.get_by_label("Utility bill", exact=False).check()
    expect(total).to_have_text("4")
    expect(page.locator("#no-gaps")).to_be_visible()
    check_accessibility(page)
    screenshot(page, "clerk-documents")
    page.get_by_role("button", name="Save and continue to the photo").click()

    expect(page.locator('.steps [aria-current="step"]')).to_contain_text("Photo")
    page.locator("#photo-file").set_input_files(
        {"name": "amaru.jpg", "mimeType": "image/jpeg", "buffer": portrait()})
    page.get_by_role("button", name="Upload photo").click()
    expect(page.locator("figure.portrait img")).to_be_visible()
    assert _loaded(page, "figure.portrait img")
    check_accessibility(page)
    screenshot(page, "clerk-photo")
    page.get_by_role("link", name="Continue to review").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Application: review and approve")
    expect(page.get_by_text("Amaru Quispe Mamani")).to_be_visible()
    check_accessibility(page)
    screenshot(page, "clerk-review")
    page.get_by_role("button", name="Approve and issue the card").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Card ")
    for side in ("front", "back"):
        selector = f'img[src$="/{side}.png"]'
        page.wait_for_function(
            "s => { const i = document.querySelector(s); return i.complete && i.naturalWidth > 0 }",
            arg=selector)
    pdf = page.request.get(page.locator("#print-link").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    check_accessibility(page)
    screenshot(page, "clerk-card")

    page.get_by_role("link", name="Today", exact=True).click()
    expect(page.locator("tbody tr")).to_have_count(2)


def _to_photo_step(page) -> None:
    staff_login(page, "clerk")
    page.goto("/clerk/applications/new")
    page.locator("#f-given_name").fill("Killa")
    page.locator("#f-date_of_birth").fill("1975-06-01")
    page.locator("#f-address_line1").fill("9 River Road")
    page.locator("#f-address_city").fill("Riverton")
    page.locator("#f-address_postal_code").fill("10014")
    page.get_by_role("button", name="Save and continue to documents").click()
    page.get_by_role("button", name="Save and continue to the photo").click()
    expect(page.locator("#camera")).to_be_visible()


def test_photo_taken_with_the_webcam(playwright, site):
    """Chromium's fake camera stands in for the desk webcam: getUserMedia, canvas, upload."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"])
    try:
        context = browser.new_context(base_url=site.url, locale="en-US")
        context.grant_permissions(["camera"], origin=site.url)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        _to_photo_step(page)
        page.get_by_role("button", name="Start the camera").click()
        shoot = page.get_by_role("button", name="Take the photo")
        expect(shoot).to_be_visible()
        page.wait_for_function("() => document.getElementById('camera-view').videoWidth > 0")
        check_accessibility(page)
        shoot.click()
        expect(page.locator("figure.portrait img")).to_be_visible()
        assert _loaded(page, "figure.portrait img")
        expect(page.get_by_role("link", name="Continue to review")).to_be_visible()
        assert errors == []
    finally:
        browser.close()


def test_camera_without_a_device_explains_itself(page, site):
    _to_photo_step(page)
    page.get_by_role("button", name="Start the camera").click()
    status = page.locator("#camera-status")
    expect(status).not_to_be_empty()
    check_accessibility(page)


def _enroll_by_api(url: str) -> tuple[str, str]:
    """An approved card and a second, duplicate application for the same person."""
    with httpx.Client(base_url=url, timeout=30) as api:
        token = api.post("/api/v1/auth/token",
                         data={"username": "clerk", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        ids = []
        for _ in range(2):
            created = api.post("/api/v1/applications", headers=headers, json=applicant())
            application_id = created.json()["id"]
            for code in ("passport", "utility_bill"):
                api.post(f"/api/v1/applications/{application_id}/documents", headers=headers,
                         json={"document_type": code})
            api.put(f"/api/v1/applications/{application_id}/photo", headers=headers,
                    files={"file": ("me.jpg", portrait(), "image/jpeg")})
            if not ids:
                approved = api.post(f"/api/v1/applications/{application_id}/approve",
                                    headers=headers)
                assert approved.status_code == 201, approved.text
            ids.append(application_id)
        return approved.json()["card_number"], ids[1]


def test_find_a_presented_card_and_suspend_it(page, site):
    number, duplicate_id = _enroll_by_api(site.url)
    staff_login(page, "clerk")
    page.goto(f"/clerk/applications/{duplicate_id}/review")
    expect(page.get_by_role("heading", name="Possible duplicate")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and issue the card")).to_be_disabled()
    check_accessibility(page)
    screenshot(page, "clerk-duplicate")

    page.get_by_role("link", name="Find a card").click()
    page.get_by_label("Given names").fill("Amaru")
    page.get_by_label("Family name").fill("Quispe Mamani")
    page.get_by_label("Date of birth", exact=True).fill("1988-04-17")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=number)).to_be_visible()
    assert "Amaru" not in page.url
    check_accessibility(page)
    screenshot(page, "clerk-find")
    page.get_by_role("link", name=number).click()

    page.get_by_role("link", name="Suspend").click()
    check_accessibility(page)
    screenshot(page, "clerk-suspend")
    page.get_by_label("Reason").select_option("reported_lost")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("The card was suspended.")
    expect(page.locator(".state strong")).to_have_text("Suspended")
    check_accessibility(page)
