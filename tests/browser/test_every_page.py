"""Every page of the site, each kind of user, through axe-core (WCAG 2.1 A and AA).

The page routes are walked from the app itself, so a new page that no test opens fails
here: add it to the visit lists below (with real data from `_seed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from playwright.sync_api import Browser, BrowserContext, Page

from tests.appointments.conftest import schedule_body, tomorrow
from tests.browser.conftest import Site, check_accessibility, staff_login
from tests.conftest import PASSWORD
from tests.factories import enroll, enroll_and_approve
from tests.web.test_page_security import page_routes

# Not HTML: downloads, the service worker script, the portrait behind the photo step.
NOT_HTML = {"/admin/reports/{name}.csv", "/partner/redemptions.csv", "/partner/sw.js",
            "/clerk/applications/{application_id}/photo.jpg"}
DESK_PASSWORD = "desk password for the sweep"
RESIDENT_PIN = "24681357"


@dataclass
class Seeded:
    card_number: str
    application_id: str
    partner_id: int
    key_id: int
    benefit_id: int
    staff_id: str
    kid: str
    centre_id: int


def _token(api: httpx.Client, username: str) -> dict[str, str]:
    r = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _seed(url: str) -> Seeded:
    """A card with an activated resident, a pending application, a museum with a key, an
    offer, a desk user, appointments open tomorrow at the clerk's centre and two walk-in
    tickets there, one called."""
    with httpx.Client(base_url=url, timeout=30) as api:
        clerk, admin = _token(api, "clerk"), _token(api, "admin")
        card = enroll_and_approve(api, clerk)  # type: ignore[arg-type]
        pending = enroll(api, clerk, given_name="Pending")  # type: ignore[arg-type]
        code = api.post(f"/api/v1/cards/{card['card_number']}/activation-code",
                        headers=clerk).json()["code"]
        assert api.post("/api/v1/residents/activate", json={
            "card_number": card["card_number"], "code": code,
            "secret": RESIDENT_PIN}).status_code == 204
        museum = api.post("/api/v1/partners", json={"name": "Sweep Museum", "kind": "cultural"},
                          headers=admin).json()
        key = api.post(f"/api/v1/partners/{museum['id']}/keys", headers=admin).json()
        benefit = api.post(f"/api/v1/partners/{museum['id']}/benefits",
                           json={"name": "Free entry"}, headers=admin).json()
        assert api.post(f"/api/v1/partners/{museum['id']}/users", json={
            "username": "sweep-desk", "password": DESK_PASSWORD}, headers=admin).status_code == 201
        staff = next(s for s in api.get("/api/v1/staff", headers=admin).json()
                     if s["username"] == "clerk")
        kid = api.get("/api/v1/keys", headers=admin).json()[0]["kid"]
        centre = staff["centre_id"]
        assert api.put(f"/api/v1/centres/{centre}/schedule", headers=admin, json=schedule_body(
            weekday=tomorrow().weekday())).status_code == 200
        assert api.post("/api/v1/appointments/release", headers=admin).status_code == 200
        slot = api.get(f"/api/v1/appointments/centres/{centre}/slots",
                       params={"day": tomorrow().isoformat()}).json()[0]
        assert api.post("/api/v1/appointments", json={
            "name": "Sweep Visitor", "phone": "+1 555 010 0000", "language": "spa",
            "slot_id": slot["id"]}).status_code == 201
        for _ in range(2):  # one ticket waiting, one called: both tables on the queue pages
            assert api.post(f"/api/v1/centres/{centre}/queue/tickets", headers=clerk,
                            json={"language": "spa"}).status_code == 201
        assert api.post(f"/api/v1/centres/{centre}/queue/call", headers=clerk,
                        json={"desk": "Desk 1"}).status_code == 200
    return Seeded(card["card_number"], pending["id"], museum["id"], key["id"], benefit["id"],
                  staff["id"], kid, centre)


def _sweep(page: Page, pages: dict[str, str]) -> None:
    for template, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, (template, path)
        check_accessibility(page)


def _new_page(browser: Browser, site: Site, opened: list[BrowserContext]) -> Page:
    """Another user's browser, next to the fixture's (closed by the test)."""
    context = browser.new_context(base_url=site.url, locale="en-US")
    opened.append(context)
    return context.new_page()


def test_every_page_passes_axe(page, browser, site):
    data = _seed(site.url)
    n, a, p = data.card_number, data.application_id, data.partner_id
    public = {"/": "/", "/benefits": "/benefits", "/staff/login": "/staff/login",
              "/partner/login": "/partner/login", "/resident/login": "/resident/login",
              "/resident/activate": "/resident/activate", "/appointments": "/appointments",
              "/card/activate": "/card/activate",
              "/appointments/centres/{centre_id}": f"/appointments/centres/{data.centre_id}",
              "/appointments/waitlist": "/appointments/waitlist",
              "/appointments/manage": "/appointments/manage",
              "/centres/{centre_id}/display": f"/centres/{data.centre_id}/display"}
    admin = {
        "/admin/": "/admin/", "/admin/partners": "/admin/partners",
        "/admin/partners/{partner_id}": f"/admin/partners/{p}",
        "/admin/partners/{partner_id}/benefits": f"/admin/partners/{p}/benefits",
        "/admin/partners/{partner_id}/benefits/new": f"/admin/partners/{p}/benefits/new",
        "/admin/partners/{partner_id}/keys/{key_id}/revoke":
            f"/admin/partners/{p}/keys/{data.key_id}/revoke",
        "/admin/benefits/{benefit_id}": f"/admin/benefits/{data.benefit_id}",
        "/admin/staff": "/admin/staff", "/admin/staff/{staff_id}": f"/admin/staff/{data.staff_id}",
        "/admin/keys": "/admin/keys",
        "/admin/keys/{kid}/compromised": f"/admin/keys/{data.kid}/compromised",
        "/admin/keys/{kid}/affected": f"/admin/keys/{data.kid}/affected",
        "/admin/reports": "/admin/reports", "/admin/centres": "/admin/centres",
        "/admin/centres/{centre_id}": f"/admin/centres/{data.centre_id}",
    }
    clerk = {
        "/clerk/": "/clerk/", "/clerk/applications/new": "/clerk/applications/new",
        "/clerk/applications/{application_id}/details": f"/clerk/applications/{a}/details",
        "/clerk/applications/{application_id}/documents": f"/clerk/applications/{a}/documents",
        "/clerk/applications/{application_id}/photo": f"/clerk/applications/{a}/photo",
        "/clerk/applications/{application_id}/review": f"/clerk/applications/{a}/review",
        "/clerk/cards/find": "/clerk/cards/find", "/clerk/cards/{number}": f"/clerk/cards/{n}",
        "/clerk/appointments": f"/clerk/appointments?day={tomorrow().isoformat()}",
        "/clerk/queue": "/clerk/queue",
        **{f"/clerk/cards/{{number}}/{{action}} {action}": f"/clerk/cards/{n}/{action}"
           for action in ("suspend", "revoke", "replace", "renew")},
    }
    desk = {"/partner/": "/partner/", "/partner/redemptions": "/partner/redemptions"}
    resident = {"/resident/": "/resident/", "/resident/report-lost": "/resident/report-lost",
                "/resident/settings": "/resident/settings", "/resident/renew": "/resident/renew"}

    opened: list[BrowserContext] = []
    try:
        _sweep_everyone(page, browser, site, data.card_number, opened,
                        (public, admin, clerk, desk, resident))
    finally:
        for context in opened:
            context.close()

    visited = {t.split(" ")[0] for group in (public, admin, clerk, desk, resident)
               for t in group}
    every_page = {path for method, path in page_routes(site.app) if method == "GET"}
    assert every_page - NOT_HTML - visited == set()


def _sweep_everyone(page: Page, browser: Browser, site: Site, number: str,
                    opened: list[BrowserContext], groups: tuple[dict[str, str], ...]) -> None:
    public, admin, clerk, desk, resident = groups
    _sweep(page, public)
    staff_login(page, "admin")
    _sweep(page, admin)
    clerk_page = _new_page(browser, site, opened)
    staff_login(clerk_page, "clerk")
    _sweep(clerk_page, clerk)
    desk_page = _new_page(browser, site, opened)
    desk_page.goto("/partner/login")
    desk_page.get_by_label("Username").fill("sweep-desk")
    desk_page.get_by_label("Password").fill(DESK_PASSWORD)
    desk_page.get_by_role("button", name="Log in").click()
    desk_page.wait_for_load_state()
    _sweep(desk_page, desk)
    resident_page = _new_page(browser, site, opened)
    resident_page.goto("/resident/login")
    resident_page.get_by_label("Card number").fill(number)
    resident_page.get_by_label("PIN", exact=True).fill(RESIDENT_PIN)
    resident_page.get_by_role("button", name="Log in").click()
    resident_page.wait_for_load_state()
    _sweep(resident_page, resident)

    missing = page.goto("/no/such/page")
    assert missing is not None and missing.status == 404
    check_accessibility(page)
