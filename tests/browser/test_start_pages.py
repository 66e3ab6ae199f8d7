"""The public start page and the staff login, in a real browser."""

from __future__ import annotations

from tests.browser.conftest import check_accessibility, screenshot, staff_login


def test_start_page_and_language_choice(page):
    page.goto("/")
    check_accessibility(page)
    screenshot(page, "start-page")
    page.get_by_label("Language").select_option("ar")
    page.get_by_role("button", name="Change").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    check_accessibility(page)
    screenshot(page, "start-page-arabic")


def test_staff_login_page_by_keyboard(page):
    page.goto("/staff/login")
    check_accessibility(page)
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    staff_login(page, "clerk", "wrong password, twelve+")
    assert page.get_by_role("alert").inner_text().startswith("Wrong username or password")
    check_accessibility(page)
    screenshot(page, "staff-login-failed")
