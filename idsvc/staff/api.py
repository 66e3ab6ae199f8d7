"""Staff login and account routes."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from idsvc.db import SessionDep
from idsvc.errors import DomainError
from idsvc.runtime import RuntimeDep
from idsvc.staff import service
from idsvc.staff.deps import SESSION_COOKIE, CallerToken, CurrentStaff, require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.schemas import StaffCreate, StaffPublic, Token
from idsvc.web.cookies import clear_session_cookie, set_session_cookie

public_router = APIRouter(tags=["auth"])
router = APIRouter(tags=["staff"])
StaffAdmin = Annotated[Staff, Depends(require(Permission.MANAGE_STAFF))]


def _refusal(refusal: DomainError) -> Response:
    """Answered, not raised: a raise would roll back the failure count of the back-off."""
    return JSONResponse(refusal.body(), status_code=refusal.status_code,
                        headers=refusal.headers())


@public_router.post("/auth/token", response_model=Token, responses={401: {}, 429: {}})
def login(session: SessionDep, runtime: RuntimeDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Response | Token:
    staff = service.log_in(session, username=form.username, password=form.password)
    if isinstance(staff, DomainError):
        return _refusal(staff)
    lifetime = timedelta(hours=runtime.settings.session_hours)
    token, expires_at = service.open_session(session, staff=staff, kind="api", lifetime=lifetime)
    return Token(access_token=token, expires_at=expires_at)


@public_router.post("/auth/session", status_code=204)
def open_page_session(session: SessionDep, runtime: RuntimeDep,
                      form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Response:
    """Log in for the pages: the token travels only in an HttpOnly, SameSite=Strict cookie."""
    staff = service.log_in(session, username=form.username, password=form.password)
    if isinstance(staff, DomainError):
        return _refusal(staff)
    lifetime = timedelta(hours=runtime.settings.session_hours)
    token, _ = service.open_session(session, staff=staff, kind="cookie", lifetime=lifetime)
    response = Response(status_code=204)
    set_session_cookie(response, runtime.settings, SESSION_COOKIE, token, lifetime=lifetime)
    return response


@router.post("/auth/logout", status_code=204)
def logout(session: SessionDep, token: CallerToken, _: CurrentStaff) -> Response:
    service.close_session(session, token)
    return clear_session_cookie(Response(status_code=204), SESSION_COOKIE)


@router.get("/staff/me")
def me(staff: CurrentStaff) -> StaffPublic:
    return StaffPublic.model_validate(staff, from_attributes=True)


@router.get("/staff")
def list_staff(session: SessionDep, _: StaffAdmin) -> list[StaffPublic]:
    return [StaffPublic.model_validate(s, from_attributes=True)
            for s in service.list_staff(session)]


@router.post("/staff", status_code=201)
def create_staff(session: SessionDep, body: StaffCreate, admin: StaffAdmin) -> StaffPublic:
    staff = service.create_staff(session, username=body.username, password=body.password,
                                 role=body.role, centre_id=body.centre_id,
                                 actor=service.actor_of(admin))
    return StaffPublic.model_validate(staff, from_attributes=True)
