"""Staff login and logout pages, and who is logged in on a page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from idsvc.db import SessionDep
from idsvc.errors import DomainError, Forbidden, Unauthorized
from idsvc.runtime import runtime_of
from idsvc.staff import service
from idsvc.staff.deps import SESSION_COOKIE
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission, Role, can
from idsvc.web.csrf import check_csrf
from idsvc.web.navigation import safe_next
from idsvc.web.templating import render

public_router = APIRouter(include_in_schema=False)
HOME_BY_ROLE = {Role.CLERK: "/clerk/", Role.SUPERVISOR: "/clerk/", Role.ADMIN: "/admin/",
                Role.AUDITOR: "/admin/reports"}


def page_staff(request: Request, session: SessionDep) -> Staff:
    """The staff member of the page session cookie (never a bearer token on pages)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("Log in first.", code="not_authenticated")
    idle = timedelta(minutes=runtime_of(request).settings.page_idle_minutes)
    return service.staff_for_token(session, token, idle=idle)


PageStaff = Annotated[Staff, Depends(page_staff)]


def page_require(permission: Permission) -> Callable[[Staff], Staff]:
    def check(staff: PageStaff) -> Staff:
        if not can(staff.role, permission):
            raise Forbidden("Your role may not open this page.", code="forbidden")
        return staff

    return check


@public_router.get("/staff/login")
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "staff/login.html", {"next": safe_next(next, "")})


@public_router.post("/staff/login", dependencies=[Depends(check_csrf)])
def login(request: Request, session: SessionDep,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)],
          next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        staff = service.authenticate(session, username=username, password=password)
    except DomainError:
        return render(request, "staff/login.html",
                      {"next": safe_next(next, ""), "failed": True, "username": username},
                      status_code=401)
    lifetime = timedelta(hours=runtime_of(request).settings.session_hours)
    token, _ = service.open_session(session, staff=staff, kind="cookie", lifetime=lifetime)
    response = RedirectResponse(safe_next(next, HOME_BY_ROLE.get(Role(staff.role), "/")),
                                status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()),
                        httponly=True, secure=runtime_of(request).settings.cookie_secure,
                        samesite="strict")
    return response


@public_router.post("/staff/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.close_session(session, token)
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
