"""The partner service worker's route, and the files it promises to keep for offline use."""

from __future__ import annotations

import re

from idsvc.verification.pages import SERVICE_WORKER


def precached_paths() -> list[str]:
    """The worker's own list: its ASSETS array and its PAGE."""
    source = SERVICE_WORKER.read_text()
    assets = re.search(r"const ASSETS = \[(.*?)\];", source, re.S)
    page = re.search(r'const PAGE = "([^"]+)";', source)
    assert assets and page
    return [page.group(1), *re.findall(r'"([^"]+)"', assets.group(1))]


def test_the_worker_is_served_inside_its_scope_and_never_cached_stale(client):
    response = client.get("/partner/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == SERVICE_WORKER.read_bytes()
    assert "content-security-policy" in response.headers
    assert 'const PAGE = "/partner/";' in response.text


def test_every_precached_file_exists_and_no_card_data_is_kept(client):
    paths = precached_paths()
    assert paths[0] == "/partner/"
    for path in paths[1:]:
        response = client.get(path)
        assert response.status_code == 200, path
        kind = "text/css" if path.endswith(".css") else (
            "image/svg+xml" if path.endswith(".svg") else "javascript")
        assert kind in response.headers["content-type"], path
    assert not [p for p in paths if p.startswith(("/api/", "/partner/verify",
                                                   "/partner/redemptions"))]


def test_the_scanner_page_itself_is_not_public(client):
    """The worker caches /partner/ only from a logged-in visit: without a session it is a
    redirect to the login, which the worker refuses to keep."""
    response = client.get("/partner/", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/partner/login")
