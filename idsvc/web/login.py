"""What every username/password login page does around its own service: show the form
again after a refusal, and open the page session with the shared cookie flags."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from idsvc.runtime import runtime_of
from idsvc.web.cookies import set_session_cookie
from idsvc.web.navigation import safe_next
from idsvc.web.templating import render


def session_lifetime(request: Request) -> timedelta:
    return timedelta(hours=runtime_of(request).settings.session_hours)


def refused(request: Request, template: str, *, next: str, username: str) -> Response:
    """The form again, with the one answer every refusal gets (401)."""
    return render(request, template,
                  {"next": safe_next(next, ""), "failed": True, "username": username},
                  status_code=401)


def signed_in(request: Request, *, target: str, cookie: str, token: str,
              lifetime: timedelta) -> Response:
    """Go to `target` with the new session in `cookie`."""
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, runtime_of(request).settings, cookie, token, lifetime=lifetime)
    return response
