"""The partner desk in a real browser: read a card from a photo with jsQR, see the verdict,
redeem an offer, read the log, and check a card offline after a first online visit."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, Playwright, expect

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Site,
    check_accessibility,
    screenshot,
)
from tests.conftest import PASSWORD
from tests.factories import enroll_and_approve

DESK_PASSWORD = "a long desk passphrase"
# True once the page's offline store holds a bundle; it reads IndexedDB directly, and only a
# database that exists, so that it never creates one ahead of the page's own code.
STORED_BUNDLE = """async () => {
  const names = (await indexedDB.databases()).map((db) => db.name);
  if (!names.includes("idsvc-offline")) return false;
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open("idsvc-offline");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  try {
    if (!db.objectStoreNames.contains("bundle")) return false;
    return await new Promise((resolve) => {
      const get = db.transaction("bundle").objectStore("bundle").get("current");
      get.onsuccess = () => resolve(Boolean(get.result));
      get.onerror = () => resolve(false);
    });
  } finally {
    db.close();
  }
}"""


class Seed:
    """Data made through the API, as staff would: partners, desk users, cards, images."""

    def __init__(self, site: Site, folder: Path) -> None:
        self.http = httpx.Client(base_url=site.url, timeout=30)
        self.folder = folder
        self.admin = self._token("admin")
        self.clerk = self._token("clerk")

    def _token(self, username: str) -> dict[str, str]:
        r = self.http.post("/api/v1/auth/token", data={"username": username,
                                                        "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def partner(self, name: str, kind: str, username: str) -> dict:
        partner = self.http.post("/api/v1/partners", json={"name": name, "kind": kind},
                                 headers=self.admin).json()
        r = self.http.post(f"/api/v1/partners/{partner['id']}/users",
                           json={"username": username, "password": DESK_PASSWORD},
                           headers=self.admin)
        assert r.status_code == 201, r.text
        return partner

    def benefit(self, partner_id: int, name: str) -> dict:
        r = self.http.post(f"/api/v1/partners/{partner_id}/benefits",
                           json={"name": name, "category": "culture"}, headers=self.admin)
        assert r.status_code == 201, r.text
        return r.json()

    def card(self, **fields) -> dict:
        return enroll_and_approve(self.http, self.clerk, **fields)

    def back_png(self, number: str) -> Path:
        """The printed back of the card (300 dpi, with its QR code), as a partner's photo."""
        r = self.http.get(f"/api/v1/cards/{number}/back.png", headers=self.clerk)
        assert r.status_code == 200
        path = self.folder / f"{number}-back.png"
        path.write_bytes(r.content)
        return path

    def revoke(self, number: str) -> None:
        r = self.http.post(f"/api/v1/cards/{number}/revoke", json={"reason": "stolen"},
                           headers=self.clerk)
        assert r.status_code == 200, r.text


@pytest.fixture
def seed(site: Site, tmp_path: Path):
    made = Seed(site, tmp_path)
    yield made
    made.http.close()


def desk_login(page: Page, username: str) -> None:
    page.goto("/partner/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DESK_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/partner/")


def read_photo(page: Page, image: Path) -> None:
    page.get_by_label("Photo or scan of the back of the card (with the QR code)") \
        .set_input_files(str(image))


def test_police_desk_reads_a_card_photo_and_sees_the_verdict(page: Page, seed: Seed):
    seed.partner("Riverton Police", "law_enforcement", "officer")
    card = seed.card(given_name="Amaru", family_name="Quispe Mamani")
    revoked = seed.card(given_name="Rosa", family_name="Lindqvist")
    seed.revoke(revoked["card_number"])

    page.goto("/partner/login")
    check_accessibility(page)
    screenshot(page, "partner-login")
    desk_login(page, "officer")
    expect(page.get_by_role("heading", name="Check a card", exact=True)).to_be_visible()
    check_accessibility(page)
    screenshot(page, "partner-scanner")

    read_photo(page, seed.back_png(card["card_number"]))
    verdict = page.locator("#verdict .verdict")
    expect(verdict).to_have_attribute("data-result", "valid")
    expect(verdict).to_contain_text("VALID")
    details = page.locator("#card-details")
    expect(details).to_contain_text("Amaru")
    expect(details).to_contain_text(card["card_number"])
    expect(details.get_by_role("img", name="Photo of the cardholder")).to_be_visible()
    expect(details).not_to_contain_text("Address")  # not in the police scope
    assert page.locator("#verdict").get_attribute("aria-live") == "assertive"
    check_accessibility(page)
    screenshot(page, "partner-scanner-valid")

    read_photo(page, seed.back_png(revoked["card_number"]))
    expect(verdict).to_have_attribute("data-result", "revoked")
    expect(verdict).to_contain_text("REVOKED")
    expect(verdict).to_contain_text("Do not accept it")
    expect(details).not_to_contain_text("Rosa")
    check_accessibility(page)
    screenshot(page, "partner-scanner-revoked")

    page.get_by_role("textbox", name="Card number").fill("RV-0000-0000")
    page.get_by_role("button", name="Check this number").click()
    expect(verdict).to_have_attribute("data-result", "not_found")
    expect(verdict).to_contain_text("NOT FOUND")
    page.get_by_role("textbox", name="Card number").fill(card["card_number"])
    page.get_by_role("button", name="Check this number").click()
    expect(verdict).to_have_attribute("data-result", "valid")
    screenshot(page, "partner-scanner-number")


def test_museum_desk_redeems_an_offer_and_reads_its_log(page: Page, seed: Seed):
    museum = seed.partner("Riverton Museum", "cultural", "museum")
    seed.benefit(museum["id"], "Free entry")
    card = seed.card(given_name="Amaru", family_name="Quispe Mamani")
    desk_login(page, "museum")
    read_photo(page, seed.back_png(card["card_number"]))
    expect(page.locator("#verdict .verdict")).to_have_attribute("data-result", "valid")
    details = page.locator("#card-details")
    expect(details).to_contain_text("Amaru")
    expect(details).to_contain_text("Adult")
    expect(details).not_to_contain_text(card["card_number"])  # not in a museum's scope
    redeem = page.get_by_role("button", name="Redeem: Free entry")
    check_accessibility(page)
    redeem.click()
    expect(page.locator("#offers")).to_contain_text("Redeemed: Free entry")
    expect(redeem).to_have_count(0)
    check_accessibility(page)
    screenshot(page, "partner-scanner-redeemed")

    read_photo(page, seed.back_png(card["card_number"]))  # the same card again
    expect(page.locator("#offers")).to_contain_text(
        "None of your offers is available to this card today.")

    page.get_by_role("link", name="Redemption log").click()
    page.wait_for_url("**/partner/redemptions")
    table = page.get_by_role("table")
    expect(table).to_contain_text("Free entry")
    expect(table).not_to_contain_text(card["card_number"])
    check_accessibility(page)
    screenshot(page, "partner-log")
    page.get_by_role("button", name="Log out museum (Riverton Museum)").click()
    page.wait_for_url("**/partner/login")


def test_offline_after_a_first_online_visit(page: Page, seed: Seed):
    museum = seed.partner("Riverton Museum", "cultural", "museum")
    seed.benefit(museum["id"], "Free entry")
    card = seed.card(given_name="Amaru", family_name="Quispe Mamani")
    image = seed.back_png(card["card_number"])
    desk_login(page, "museum")
    # The first visit registers the service worker and stores the offline bundle.
    page.wait_for_function(
        "async () => { const r = await navigator.serviceWorker.getRegistration('/partner/');"
        " return Boolean(r && r.active && r.active.state === 'activated'); }")
    # The worker claims the open page once active; then the page is in its cache.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function(STORED_BUNDLE)
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Check a card", exact=True)).to_be_visible()
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("fetched 1 minute ago")
    read_photo(page, image)
    verdict = page.locator("#verdict .verdict")
    expect(verdict).to_have_attribute("data-result", "valid")
    expect(verdict).to_contain_text("Checked on this device, offline")
    details = page.locator("#card-details")
    expect(details).to_contain_text("Amaru")  # the museum's scope, applied on the device
    expect(details).to_contain_text("Adult")
    expect(details).not_to_contain_text("Quispe")
    expect(details).not_to_contain_text(card["card_number"])
    expect(page.locator("#offers")).to_contain_text("Redeeming is not possible offline")
    expect(page.get_by_role("button", name="Redeem: Free entry")).to_have_count(0)
    check_accessibility(page)
    screenshot(page, "partner-scanner-offline")
    page.get_by_role("textbox", name="Card number").fill(card["card_number"])
    page.get_by_role("button", name="Check this number").click()
    expect(page.locator("#verdict")).to_contain_text("Offline, a typed number cannot be checked")


def y4m_video(image: Path, out: Path, *, size: tuple[int, int] = (1280, 720)) -> Path:
    """A short Y4M clip of `image` centred on a white frame, for Chromium's fake camera."""
    frame = Image.new("RGB", size, "white")
    card = Image.open(image).convert("RGB")
    card.thumbnail((size[0] - 80, size[1] - 80))
    frame.paste(card, ((size[0] - card.width) // 2, (size[1] - card.height) // 2))
    luma, blue, red = frame.convert("YCbCr").split()
    half = (size[0] // 2, size[1] // 2)
    planes = luma.tobytes() + blue.resize(half).tobytes() + red.resize(half).tobytes()
    with out.open("wb") as video:
        video.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            video.write(b"FRAME\n" + planes)
    return out


def test_the_camera_reads_a_card(playwright: Playwright, site: Site, seed: Seed, tmp_path: Path):
    """Chromium's fake camera plays the printed card: the scanner reads it from the video."""
    seed.partner("Riverton Police", "law_enforcement", "officer")
    card = seed.card(given_name="Amaru", family_name="Quispe Mamani")
    clip = y4m_video(seed.back_png(card["card_number"]), tmp_path / "card.y4m")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}"])
    errors: list[str] = []
    try:
        context = browser.new_context(base_url=site.url, locale="en-US")
        context.grant_permissions(["camera"], origin=site.url)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        desk_login(page, "officer")
        start = page.get_by_role("button", name="Start camera")
        start.click()
        expect(page.get_by_role("button", name="Stop camera")).to_be_focused()
        expect(page.locator("#camera-video")).to_be_visible()
        verdict = page.locator("#verdict .verdict")
        expect(verdict).to_have_attribute("data-result", "valid", timeout=15_000)
        expect(page.locator("#card-details")).to_contain_text(card["card_number"])
        check_accessibility(page)
        screenshot(page, "partner-scanner-camera")
        page.get_by_role("button", name="Stop camera").click()
        expect(page.locator("#camera-video")).to_be_hidden()
        expect(page.locator("#camera-message")).to_have_text("The camera is off.")
    finally:
        browser.close()
    assert errors == []
