"""Who is calling: typed dependencies for staff routes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from idsvc.db import SessionDep
from idsvc.errors import Forbidden, Unauthorized
from idsvc.runtime import runtime_of
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission, can
from idsvc.staff.service import staff_for_token

SESSION_COOKIE = "idsvc_session"
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def caller_token(request: Request, bearer: Annotated[str | None, Depends(_bearer)]) -> str:
    token = bearer or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("Log in first: send a bearer token.", code="not_authenticated")
    return token


CallerToken = Annotated[str, Depends(caller_token)]


def current_staff(request: Request, session: SessionDep, token: CallerToken) -> Staff:
    idle = timedelta(minutes=runtime_of(request).settings.page_idle_minutes)
    return staff_for_token(session, token, idle=idle)


CurrentStaff = Annotated[Staff, Depends(current_staff)]


def require(permission: Permission) -> Callable[[Staff], Staff]:
    """A dependency that lets the call through only for roles holding `permission`."""

    def check(staff: CurrentStaff) -> Staff:
        if not can(staff.role, permission):
            raise Forbidden(f"The {staff.role} role may not {permission.value.replace('_', ' ')}.",
                            code="forbidden")
        return staff

    return check
