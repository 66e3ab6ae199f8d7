"""CSRF protection for the pages: a random token in a SameSite=Strict, HttpOnly cookie that
every form (hidden field) or script (`X-CSRF-Token` header) must send back.

The cookie cannot be read by another site, SameSite=Strict keeps it off cross-site
requests, and a forged form cannot know the value to echo.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from starlette.responses import Response

from idsvc.errors import Forbidden
from idsvc.runtime import runtime_of

CSRF_COOKIE = "idsvc_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(request: Request) -> str:
    """This browser's token; a new one is made (and set by `attach_cookie`) if it has none."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


def attach_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict",
                            secure=runtime_of(request).settings.cookie_secure, path="/")


async def check_csrf(request: Request) -> None:
    """A dependency for every page route that changes something."""
    if request.method in _SAFE:
        return
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise Forbidden("This form has expired or did not come from this site; "
                        "reload the page and try again.", code="csrf_failed")
