"""Staff login and logout pages, and who is logged in on a page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from idsvc.db import SessionDep
from idsvc.errors import DomainError, Forbidden
from idsvc.runtime import runtime_of
from idsvc.sessions import page_idle
from idsvc.staff import service
from idsvc.staff.deps import SESSION_COOKIE
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission, Role, can
from idsvc.web.cookies import clear_session_cookie, session_token
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import NextPath, Password, Username
from idsvc.web.login import refused, session_lifetime, signed_in
from idsvc.web.navigation import safe_next
from idsvc.web.templating import render

public_router = APIRouter(include_in_schema=False)
HOME_BY_ROLE = {Role.CLERK: "/clerk/", Role.SUPERVISOR: "/clerk/", Role.ADMIN: "/admin/",
                Role.AUDITOR: "/admin/reports"}


def page_staff(request: Request, session: SessionDep) -> Staff:
    """The staff member of the page session cookie (never a bearer token on pages)."""
    return service.staff_for_token(session, session_token(request, SESSION_COOKIE),
                                   idle=page_idle(runtime_of(request).settings),
                                   cookie_only=True)


PageStaff = Annotated[Staff, Depends(page_staff)]


def page_require(*permissions: Permission) -> Callable[[Staff], Staff]:
    """A page dependency that lets in roles holding any of `permissions`."""

    def check(staff: PageStaff) -> Staff:
        if not any(can(staff.role, permission) for permission in permissions):
            raise Forbidden("Your role may not open this page.", code="forbidden")
        return staff

    return check


@public_router.get("/staff/login")
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "staff/login.html", {"next": safe_next(next, "")})


@public_router.post("/staff/login", dependencies=[Depends(check_csrf)])
def login(request: Request, session: SessionDep,
          username: Username, password: Password, next: NextPath = "") -> Response:
    try:
        staff = service.authenticate(session, username=username, password=password)
    except DomainError:
        return refused(request, "staff/login.html", next=next, username=username)
    lifetime = session_lifetime(request)
    token, _ = service.open_session(session, staff=staff, kind="cookie", lifetime=lifetime)
    return signed_in(request, target=safe_next(next, HOME_BY_ROLE.get(Role(staff.role), "/")),
                     cookie=SESSION_COOKIE, token=token, lifetime=lifetime)


@public_router.post("/staff/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.close_session(session, token)
    return clear_session_cookie(RedirectResponse("/staff/login", status_code=303),
                                SESSION_COOKIE)
