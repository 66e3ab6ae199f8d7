"""Browser tests: Debian's Chromium driven by Playwright against a live idsvc on SQLite.

Every page a test visits is checked with axe-core (WCAG 2.1 A and AA, zero violations
allowed) and any console error, including a Content-Security-Policy refusal, fails the
test. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from idsvc import migrations
from idsvc.app import create_app
from idsvc.audit.service import Actor
from idsvc.centres.service import create_centre
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import ensure_signing_key
from idsvc.db import make_engine, make_sessionmaker
from idsvc.staff.roles import Role
from idsvc.staff.service import create_staff
from tests.conftest import PASSWORD, ROLES, settings_for
from tests.live import serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--use-fake-ui-for-media-stream"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test is slow: `pytest -m "not slow"` leaves them out."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.slow)


@dataclass
class Site:
    """A served idsvc with one committed account per staff role (password PASSWORD)."""

    url: str
    database_url: str
    keys_dir: Path
    master_key: MasterKey
    centre_id: int
    app: Any = field(repr=False)

    def sessions(self):
        return self.app.state.sessionmaker


# Package scope: Playwright's sync API holds an event loop on this thread, which must be
# gone before tests elsewhere call asyncio.run().
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path / 'idsvc.db'}"
    keys_dir = tmp_path / "keys"
    migrations.upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        ensure_signing_key(session, keys_dir=keys_dir)
        centre = create_centre(session, code="CENTRAL", name="Central Library Centre",
                               address="100 Main Street", actor=Actor.system())
        centre_id = centre.id
        for role in ROLES:
            create_staff(session, username=str(role), password=PASSWORD, role=Role(role),
                         centre_id=centre_id, actor=Actor.system())
        session.commit()
    engine.dispose()
    master_key = MasterKey.from_secret(os.urandom(32))
    app = create_app(settings_for(url, keys_dir), master_key=master_key)
    with serving(app) as base_url:
        yield Site(base_url, url, keys_dir, master_key, centre_id, app)


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A fresh browser context on the site. Script errors, console errors (a CSP refusal
    among them) and any script, style or image that fails to load fail the test; a page
    itself may answer 4xx (a refused form)."""
    context = browser.new_context(base_url=site.url, locale="en-US")
    opened = context.new_page()
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document" \
                and "/api/" not in response.url:
            errors.append(f"{response.status} {response.url}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("response", on_response)
    yield opened
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def check_accessibility(page: Page) -> None:
    """axe-core over the whole page: WCAG 2.1 A and AA, zero violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by DevTools, so the page's CSP allows it
    violations = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))", WCAG_AA)
    assert violations == [], f"{page.url}: {violations}"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def staff_login(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
