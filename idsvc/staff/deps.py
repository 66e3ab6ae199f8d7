"""Who is calling: typed dependencies for staff routes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from idsvc.db import SessionDep
from idsvc.errors import Forbidden, Unauthorized
from idsvc.runtime import runtime_of
from idsvc.sessions import page_idle
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission, can
from idsvc.staff.service import staff_for_token
from idsvc.web.csrf import CSRF_COOKIE, CSRF_HEADER

SESSION_COOKIE = "idsvc_session"
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def caller_token(request: Request, bearer: Annotated[str | None, Depends(_bearer)]) -> str:
    token = bearer or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("Log in first: send a bearer token.", code="not_authenticated")
    if not bearer and request.method not in _SAFE_METHODS:
        _check_csrf_header(request)
    return token


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_csrf_header(request: Request) -> None:
    """A change made with the page session cookie (the browser sends it by itself) must
    also echo the page's CSRF token in the header, as the pages' scripts do; a bearer
    token is never sent by a browser on its own, so it needs none."""
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise Forbidden("A change made with the session cookie needs the page's CSRF token "
                        "in the X-CSRF-Token header.", code="csrf_failed")


CallerToken = Annotated[str, Depends(caller_token)]


def current_staff(request: Request, session: SessionDep, token: CallerToken) -> Staff:
    return staff_for_token(session, token, idle=page_idle(runtime_of(request).settings))


CurrentStaff = Annotated[Staff, Depends(current_staff)]


def require(permission: Permission) -> Callable[[Staff], Staff]:
    """A dependency that lets the call through only for roles holding `permission`."""

    def check(staff: CurrentStaff) -> Staff:
        if not can(staff.role, permission):
            raise Forbidden(f"The {staff.role} role may not {permission.value.replace('_', ' ')}.",
                            code="forbidden")
        return staff

    return check
