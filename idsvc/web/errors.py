"""Refusals on the pages: an HTML page in the user's language, or a redirect to log in."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from idsvc.web.templating import render

# Everything else is a page.
MACHINE_PREFIXES = ("/api/", "/status/", "/.well-known/", "/offline-bundle.json",
                    "/openapi.json", "/docs", "/redoc", "/static/",
                    "/healthz", "/readyz", "/metrics")  # for probes and scrapers
# Which login a page sends an anonymous visitor to, by the start of its path.
LOGIN_PAGES = (("/partner", "/partner/login"), ("/resident", "/resident/login"),
               ("/clerk", "/staff/login"), ("/admin", "/staff/login"))


def is_page(path: str) -> bool:
    return not path.startswith(MACHINE_PREFIXES)


def login_page_for(path: str) -> str | None:
    for prefix, login in LOGIN_PAGES:
        if path == prefix or path.startswith(prefix + "/"):
            return None if path == login else login
    return None


def render_error(request: Request, status: int, body: dict[str, Any],
                 headers: dict[str, str] | None) -> Response | None:
    """None for API routes (they answer JSON); a page or a login redirect otherwise."""
    path = request.url.path
    if not is_page(path):
        return None
    login = login_page_for(path) if status == 401 else None
    if login is not None:
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{login}?next={quote(target, safe='')}", status_code=303)
    response = render(request, "error.html", {"status": status, "error": body.get("error"),
                                              "message": body.get("message")},
                      status_code=status)
    if headers and "Retry-After" in headers:
        response.headers["Retry-After"] = headers["Retry-After"]
    return response
