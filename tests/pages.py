"""Helpers for page tests: CSRF tokens and logging in through the forms, as a browser does."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, page: str = "/") -> str:
    """The CSRF token a page carries in its forms (and in its cookie)."""
    html = client.get(page).text
    match = _TOKEN.search(html)
    assert match, f"no CSRF field on {page}"
    return match.group(1)


def post_form(client: TestClient, path: str, data: dict[str, Any] | None = None, *,
              page: str = "/", **kwargs: Any):
    """Submit a form the way the browser does: with the token from a page."""
    return client.post(path, data={"csrf_token": csrf(client, page), **(data or {})},
                       follow_redirects=False, **kwargs)


def staff_login(client: TestClient, username: str, password: str = PASSWORD):
    response = post_form(client, "/staff/login", {"username": username, "password": password},
                         page="/staff/login")
    assert response.status_code == 303, response.text
    return response
