"""The cookies pages set: page sessions (staff, partner desks, residents) and the language.

Each kind of user has its own login, but their session cookies must carry the same flags,
so they are set here once: HttpOnly (no script can read the token), SameSite=Strict (no
request from another site carries it) and Secure unless a local demo turns it off.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from starlette.responses import Response

from idsvc.config import Settings
from idsvc.errors import Unauthorized
from idsvc.web.i18n import LANGUAGE_COOKIE

ONE_YEAR = 365 * 24 * 3600


def session_token(request: Request, cookie: str, *, message: str = "Log in first.") -> str:
    """The token of a page session cookie; 401 (a redirect to the login page) without one."""
    token = request.cookies.get(cookie)
    if not token:
        raise Unauthorized(message, code="not_authenticated")
    return token


def set_session_cookie(response: Response, settings: Settings, cookie: str, token: str, *,
                       lifetime: timedelta, path: str = "/") -> None:
    response.set_cookie(cookie, token, max_age=int(lifetime.total_seconds()), path=path,
                        httponly=True, secure=settings.cookie_secure, samesite="strict")


def clear_session_cookie(response: Response, cookie: str, *, path: str = "/") -> Response:
    response.delete_cookie(cookie, path=path)
    return response


def set_language_cookie(response: Response, settings: Settings, code: str) -> None:
    """Remember a page language for a year. SameSite=Lax, unlike sessions: a link from
    another site should still open in the visitor's language."""
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=ONE_YEAR, httponly=True,
                        samesite="lax", secure=settings.cookie_secure)
