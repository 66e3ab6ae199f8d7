"""Administrator pages for staff accounts: list, create, reset a password, deactivate.

Each change goes through `idsvc.staff.service`, which writes the audit event; a
password reset or a deactivation also ends the account's open sessions.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from idsvc.centres.service import list_centres
from idsvc.db import SessionDep
from idsvc.errors import DomainError
from idsvc.staff import service
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission, Role
from idsvc.staff.schemas import StaffCreate
from idsvc.staff.service import actor_of
from idsvc.web.admin_home import Link
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import FormInvalid, validate
from idsvc.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
StaffAdmin = Annotated[Staff, Depends(page_require(Permission.MANAGE_STAFF))]
StaffId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
CSRF = [Depends(check_csrf)]


def _refusal(request: Request, exc: DomainError) -> tuple[str, str]:
    """The field and the words for a refusal the form can show; re-raise the rest."""
    _ = gettext_for(request)
    known = {"weak_password": ("password", _("Use at least 12 characters, without the "
                                             "username.")),
             "username_taken": ("username", _("This username is taken.")),
             "centre_not_found": ("centre_id", _("Choose a centre from the list.")),
             "cannot_deactivate_self": ("", _("You cannot deactivate your own account."))}
    if exc.code not in known:
        raise exc
    return known[exc.code]


def _list(request: Request, session: Session, staff: Staff, *,
          errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    _ = gettext_for(request)
    done = {"created": _("The account was created."),
            "password": _("The password was reset and the account's sessions were ended."),
            "deactivated": _("The account was deactivated and logged out.")}
    centres = list_centres(session)
    return render(request, "admin/staff.html", {
        "staff": staff, "accounts": service.list_staff(session), "roles": list(Role),
        "centres": centres, "centre_names": {c.id: c.name for c in centres},
        "done": done.get(request.query_params.get("done", "")),
        "errors": errors or {}, "values": values or {}}, status_code=status_code)


@router.get("/admin/staff")
def staff_page(request: Request, session: SessionDep, staff: StaffAdmin) -> Response:
    return _list(request, session, staff)


@router.post("/admin/staff", dependencies=CSRF)
def create_account(request: Request, session: SessionDep, staff: StaffAdmin,
                   username: Annotated[str, Form(max_length=200)] = "",
                   role: Annotated[str, Form(max_length=16)] = "",
                   centre_id: Annotated[str, Form(max_length=12)] = "",
                   password: Annotated[str, Form(max_length=400)] = "") -> Response:
    _ = gettext_for(request)
    values = {"username": username, "role": role, "centre_id": centre_id}
    try:
        body = validate(StaffCreate, {"username": username, "role": role,
                                      "centre_id": centre_id or None, "password": password},
                        {"username": _("Letters, digits and . _ - only."),
                         "role": _("Choose a role."),
                         "centre_id": _("Choose a centre from the list."),
                         "password": _("Use at least 12 characters, without the username.")})
        service.create_staff(session, username=body.username, password=body.password,
                             role=body.role, centre_id=body.centre_id, actor=actor_of(staff))
    except FormInvalid as exc:
        return _list(request, session, staff, errors=exc.errors, values=values,
                     status_code=422)
    except DomainError as exc:
        field, message = _refusal(request, exc)
        return _list(request, session, staff, errors={field: message}, values=values,
                     status_code=exc.status_code)
    return RedirectResponse("/admin/staff?done=created", status_code=303)


def _account(request: Request, staff: Staff, account: Staff, *,
             errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    _ = gettext_for(request)
    return render(request, "admin/staff_account.html", {
        "staff": staff, "account": account, "errors": errors or {},
        "trail": [Link("/admin/staff", _("Staff accounts"))]}, status_code=status_code)


@router.get("/admin/staff/{staff_id}")
def account_page(request: Request, session: SessionDep, staff: StaffAdmin,
                 staff_id: StaffId) -> Response:
    return _account(request, staff, service.get_staff(session, staff_id))


@router.post("/admin/staff/{staff_id}/password", dependencies=CSRF)
def reset_password(request: Request, session: SessionDep, staff: StaffAdmin,
                   staff_id: StaffId,
                   password: Annotated[str, Form(max_length=400)] = "") -> Response:
    account = service.get_staff(session, staff_id)
    try:
        service.set_password(session, staff=account, password=password, actor=actor_of(staff))
    except DomainError as exc:
        field, message = _refusal(request, exc)
        return _account(request, staff, account, errors={field: message},
                        status_code=exc.status_code)
    return RedirectResponse("/admin/staff?done=password", status_code=303)


@router.post("/admin/staff/{staff_id}/deactivate", dependencies=CSRF)
def deactivate(request: Request, session: SessionDep, staff: StaffAdmin,
               staff_id: StaffId) -> Response:
    account = service.get_staff(session, staff_id)
    try:
        service.deactivate_staff(session, staff=account, actor=actor_of(staff))
    except DomainError as exc:
        field, message = _refusal(request, exc)
        return _account(request, staff, account, errors={field: message},
                        status_code=exc.status_code)
    return RedirectResponse("/admin/staff?done=deactivated", status_code=303)
