"""Administrator pages through the browser's forms: partners, keys, desk users, benefits,
staff, signing keys and reports; CSRF, roles and the login redirect."""

from __future__ import annotations

import re

import pytest

from idsvc.clock import utcnow
from idsvc.reports.service import month_of
from tests.factories import enroll_and_approve
from tests.pages import post_form, staff_login

KEY = re.compile(r"idsvc_[0-9a-f]{10}_[A-Za-z0-9_-]+")


@pytest.fixture
def as_admin(client):
    staff_login(client, "admin")
    return client


def _create_partner(client, name="Riverton Library", kind="library") -> str:
    r = post_form(client, "/admin/partners", {"name": name, "kind": kind},
                  page="/admin/partners")
    assert r.status_code == 303, r.text
    return r.headers["location"].split("?")[0]


def test_admin_home_links_to_every_area(as_admin):
    page = as_admin.get("/admin/")
    assert page.status_code == 200
    for href in ("/admin/partners", "/admin/staff", "/admin/keys", "/admin/reports"):
        assert f'href="{href}"' in page.text


def test_create_a_partner_and_narrow_its_scope(as_admin, admin):
    detail = _create_partner(as_admin)
    partner_id = int(detail.rsplit("/", 1)[1])
    page = as_admin.get(detail)
    boxes = re.findall(r'name="scope" value="(\w+)"', page.text)
    assert sorted(boxes) == ["age_group", "city_resident", "expires_at", "full_name"]
    r = post_form(as_admin, detail, {"scope": ["full_name", "expires_at"],
                                     "rate_limit_per_minute": "120", "active": "on"},
                  page=detail)
    assert r.status_code == 303
    api = as_admin.get(f"/api/v1/partners/{partner_id}", headers=admin).json()
    assert sorted(api["scope"]) == ["expires_at", "full_name"] and api["scope_narrowed"]
    assert api["rate_limit_per_minute"] == 120
    page = as_admin.get(detail).text
    assert 'value="full_name" checked' in page and 'value="age_group" checked' not in page
    # Not a field of a library's default: refused, nothing widened.
    wider = post_form(as_admin, detail, {"scope": ["full_name", "photo"],
                                         "rate_limit_per_minute": "120", "active": "on"},
                      page=detail)
    assert wider.status_code == 422
    bad_limit = post_form(as_admin, detail, {"rate_limit_per_minute": "0", "active": "on"},
                          page=detail)
    assert bad_limit.status_code == 422 and 'id="rate_limit_per_minute-error"' in bad_limit.text
    duplicate = post_form(as_admin, "/admin/partners", {"name": "Riverton Library",
                                                        "kind": "bank"},
                          page="/admin/partners")
    assert duplicate.status_code == 409 and 'role="alert"' in duplicate.text


def test_an_api_key_is_shown_once_and_can_be_revoked(as_admin, client):
    detail = _create_partner(as_admin, kind="bank", name="First Bank")
    created = post_form(as_admin, f"{detail}/keys", {"label": "branch tablet"}, page=detail)
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    keys = KEY.findall(created.text)
    assert len(set(keys)) == 1
    secret = keys[0]
    assert "shown only this once" in created.text
    listing = as_admin.get(detail).text
    assert secret not in listing and secret.split("_")[1] in listing  # the prefix only
    assert "branch tablet" in listing
    works = client.post("/api/v1/verify", json={"card_number": "000000000000"},
                        headers={"Authorization": f"Bearer {secret}"})
    assert works.status_code == 200
    revoke = re.search(r'href="(/admin/partners/\d+/keys/\d+/revoke)"', listing).group(1)
    confirm = as_admin.get(revoke)
    assert confirm.status_code == 200 and "stops working at once" in confirm.text
    assert post_form(as_admin, revoke, page=revoke).status_code == 303
    assert "/revoke" not in as_admin.get(detail).text
    refused = client.post("/api/v1/verify", json={"card_number": "000000000000"},
                          headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401


def test_desk_users_are_added_and_deactivated(as_admin):
    detail = _create_partner(as_admin)
    weak = post_form(as_admin, f"{detail}/users", {"username": "desk1", "password": "short"},
                     page=detail)
    assert weak.status_code == 422 and 'id="user-password-error"' in weak.text
    added = post_form(as_admin, f"{detail}/users",
                      {"username": "desk1", "password": "a long desk password"}, page=detail)
    assert added.status_code == 303
    page = as_admin.get(detail).text
    assert "desk1" in page
    action = re.search(r'action="(/admin/partners/\d+/users/\d+/deactivate)"', page).group(1)
    assert post_form(as_admin, action, page=detail).status_code == 303
    assert "Deactivated" in as_admin.get(detail).text


def test_a_desk_users_password_is_reset_from_the_partner_page(as_admin):
    detail = _create_partner(as_admin)
    post_form(as_admin, f"{detail}/users",
              {"username": "desk1", "password": "a long desk password"}, page=detail)
    user_id = re.search(r'<option value="(\d+)">desk1</option>', as_admin.get(detail).text)[1]
    weak = post_form(as_admin, f"{detail}/users/password",
                     {"user_id": user_id, "new_password": "short"}, page=detail)
    assert weak.status_code == 422 and 'id="reset-password-error"' in weak.text
    done = post_form(as_admin, f"{detail}/users/password",
                     {"user_id": user_id, "new_password": "a new desk password"}, page=detail)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=password")
    assert "sessions were ended" in as_admin.get(done.headers["location"]).text
    login = post_form(as_admin, "/partner/login",
                      {"username": "desk1", "password": "a new desk password"},
                      page="/partner/login")
    assert login.status_code == 303


def test_benefit_form_shows_errors_and_saves(as_admin):
    detail = _create_partner(as_admin, kind="cultural", name="Museum")
    new = f"{detail}/benefits/new"
    assert as_admin.get(new).status_code == 200
    bad = post_form(as_admin, f"{detail}/benefits",
                    {"name": "Youth pass", "min_age": "30", "max_age": "18",
                     "limit_count": "1", "limit_period": "year"}, page=new)
    assert bad.status_code == 422
    assert 'id="max_age-error" role="alert"' in bad.text
    assert "The maximum age is below the minimum age." in bad.text
    assert 'value="Youth pass"' in bad.text  # what was typed stays in the form
    good = post_form(as_admin, f"{detail}/benefits",
                     {"name": "Youth pass", "category": "culture", "min_age": "12",
                      "max_age": "18", "limit_count": "2", "limit_period": "year",
                      "quota": "100", "one_per_household": "on"}, page=new)
    assert good.status_code == 303
    listing = as_admin.get(f"{detail}/benefits").text
    edit = re.search(r'href="(/admin/benefits/\d+)"', listing).group(1)
    assert "Youth pass" in listing
    saved = post_form(as_admin, edit, {"description": "Ages 12 to 18", "quota": "50",
                                       "ends_on": "", "active": "on"}, page=edit)
    assert saved.status_code == 303
    assert "Ages 12 to 18" in as_admin.get(edit).text
    bad_quota = post_form(as_admin, edit, {"quota": "0", "active": "on"}, page=edit)
    assert bad_quota.status_code == 422 and 'id="quota-error"' in bad_quota.text


def test_staff_accounts_are_created_reset_and_deactivated(as_admin, database):
    weak = post_form(as_admin, "/admin/staff", {"username": "newclerk", "role": "clerk",
                                                "centre_id": str(database.centre_id),
                                                "password": "short"}, page="/admin/staff")
    assert weak.status_code == 422 and 'id="password-error"' in weak.text
    created = post_form(as_admin, "/admin/staff",
                        {"username": "newclerk", "role": "clerk",
                         "centre_id": str(database.centre_id),
                         "password": "a good long password"}, page="/admin/staff")
    assert created.status_code == 303
    listing = as_admin.get("/admin/staff").text
    assert "newclerk" in listing and "Central" in listing
    account = re.search(r'href="(/admin/staff/[0-9a-f]{32})">newclerk', listing).group(1)
    reset = post_form(as_admin, f"{account}/password", {"password": "another long password"},
                      page=account)
    assert reset.status_code == 303
    assert post_form(as_admin, f"{account}/deactivate", page=account).status_code == 303
    assert "Deactivated" in as_admin.get(account).text
    me = re.search(r'href="(/admin/staff/[0-9a-f]{32})">admin<', listing).group(1)
    refused = post_form(as_admin, f"{me}/deactivate", page=me)
    assert refused.status_code == 409 and "your own account" in refused.text


def test_rotate_then_compromise_a_key_and_reissue_its_cards(as_admin, clerk, client):
    card = enroll_and_approve(client, clerk)
    old = re.findall(r'action="/admin/keys/([\w-]+)/retire"', as_admin.get("/admin/keys").text)
    assert len(old) == 1
    assert post_form(as_admin, "/admin/keys/rotate", page="/admin/keys").status_code == 303
    listing = as_admin.get("/admin/keys").text
    assert "Retired: verifies its cards" in listing and "Active: signs new cards" in listing
    confirm = as_admin.get(f"/admin/keys/{old[0]}/compromised")
    assert "Every card this key signed will verify as invalid" in confirm.text
    assert "1 card in use was signed by this key" in confirm.text
    done = post_form(as_admin, f"/admin/keys/{old[0]}/compromised",
                     page=f"/admin/keys/{old[0]}/compromised")
    assert done.status_code == 303 and done.headers["location"].endswith("/affected")
    affected = as_admin.get(done.headers["location"]).text
    assert "1 card in use is still signed by this key" in affected
    reissued = post_form(as_admin, f"/admin/keys/{old[0]}/reissue",
                         page=f"/admin/keys/{old[0]}/affected")
    assert reissued.status_code == 303
    after = as_admin.get(reissued.headers["location"]).text
    assert "1 card was reissued" in after and "0 cards in use are still signed" in after
    staff_view = client.get(f"/api/v1/cards/{card['card_number']}", headers=clerk).json()
    assert staff_view["version"] == 2


def test_reports_page_draws_accessible_charts_with_tables(client, admin, clerk):
    card = enroll_and_approve(client, clerk)
    partner = client.post("/api/v1/partners", json={"name": "Bank", "kind": "bank"},
                          headers=admin).json()
    key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
    for _ in range(12):
        client.post("/api/v1/verify", json={"card_number": card["card_number"]},
                    headers={"Authorization": f"Bearer {key['api_key']}"})
    staff_login(client, "auditor")
    page = client.get("/admin/reports")
    assert page.status_code == 200
    assert page.text.count('role="img"') == 3 and page.text.count("<desc id=") == 3
    assert '<title id="chart-verifications-title">' in page.text
    assert '<th scope="row">Bank</th>' in page.text  # the kind's name, in the page's language
    assert '<td><bdi dir="ltr">12</bdi></td>' in page.text
    assert '<td><bdi dir="ltr">&lt;10</bdi></td>' in page.text  # the one card this week
    assert 'href="/admin/reports/verifications.csv"' in page.text
    exported = client.get("/admin/reports/verifications.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"{month_of(utcnow().date())}" in exported.text.splitlines()[0]
    assert "bank," in exported.text
    bad = client.get("/admin/reports?from=31/12/2026")
    assert bad.status_code == 422 and 'id="range-error"' in bad.text
    arabic = client.get("/admin/reports", headers={"Accept-Language": "ar"})
    assert 'dir="rtl"' in arabic.text and arabic.text.count('role="img"') == 3


def test_forms_without_the_csrf_token_are_refused(as_admin):
    forged = as_admin.post("/admin/partners", data={"name": "Evil", "kind": "bank"},
                           follow_redirects=False)
    assert forged.status_code == 403
    assert as_admin.post("/admin/keys/rotate", follow_redirects=False).status_code == 403
    assert "Evil" not in as_admin.get("/admin/partners").text


@pytest.mark.parametrize("path", ["/admin/", "/admin/partners", "/admin/staff", "/admin/keys",
                                  "/admin/reports"])
def test_clerks_are_refused_and_visitors_sent_to_login(client, path):
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/staff/login?next=")
    staff_login(client, "clerk")
    assert client.get(path).status_code == 403


def test_an_auditor_sees_only_reports(client):
    staff_login(client, "auditor")
    home = client.get("/admin/")
    assert home.status_code == 200 and 'href="/admin/reports"' in home.text
    assert 'href="/admin/partners"' not in home.text
    for path in ("/admin/partners", "/admin/staff", "/admin/keys"):
        assert client.get(path).status_code == 403
    assert client.get("/admin/reports").status_code == 200
