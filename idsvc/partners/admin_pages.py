"""Administrator pages for partners: create, scope, rate limit, API keys and desk users.

They validate with the API's schemas and call the same service functions as
/api/v1/partners; a key's secret is shown once, on the answer to the form that made it,
and is never stored or shown again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from idsvc.db import RowId, SessionDep
from idsvc.errors import DomainError, NotFound
from idsvc.partners import service, users
from idsvc.partners.models import Partner
from idsvc.partners.schemas import KeyCreate, PartnerCreate, PartnerUpdate, PartnerUserCreate
from idsvc.partners.scopes import DEFAULT_SCOPES, PartnerKind
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of
from idsvc.web.admin_home import NO_STORE, Link
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import FormInvalid, validate
from idsvc.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
PartnerAdmin = Annotated[Staff, Depends(page_require(Permission.MANAGE_PARTNERS))]
CSRF = [Depends(check_csrf)]


def _list(request: Request, session: Session, staff: Staff, *,
          errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    return render(request, "admin/partners.html",
                  {"staff": staff, "partners": service.list_partners(session),
                   "kinds": list(PartnerKind), "errors": errors or {}, "values": values or {}},
                  status_code=status_code)


@router.get("/admin/partners")
def partners_page(request: Request, session: SessionDep, staff: PartnerAdmin) -> Response:
    return _list(request, session, staff)


@router.post("/admin/partners", dependencies=CSRF)
def create_partner(request: Request, session: SessionDep, staff: PartnerAdmin,
                   name: Annotated[str, Form(max_length=400)] = "",
                   kind: Annotated[str, Form(max_length=32)] = "") -> Response:
    _ = gettext_for(request)
    values = {"name": name, "kind": kind}
    try:
        body = validate(PartnerCreate, values,
                        {"name": _("Enter a name of up to 200 characters."),
                         "kind": _("Choose a kind of partner.")})
        partner = service.create_partner(session, name=body.name, kind=body.kind,
                                         actor=actor_of(staff))
    except FormInvalid as exc:
        return _list(request, session, staff, errors=exc.errors, values=values,
                     status_code=422)
    except DomainError as exc:
        if exc.code != "partner_exists":
            raise
        return _list(request, session, staff, values=values, status_code=409,
                     errors={"name": _("A partner with this name exists already.")})
    return RedirectResponse(f"/admin/partners/{partner.id}?done=created", status_code=303)


def _detail(request: Request, session: Session, staff: Staff, partner: Partner, *,
            errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
            status_code: int = 200) -> Response:
    _ = gettext_for(request)
    done = {"created": _("The partner was created."), "saved": _("The settings were saved."),
            "revoked": _("The key was revoked; it stops working at once."),
            "user_added": _("The desk user was added."),
            "user_deactivated": _("The desk user was deactivated and logged out."),
            "password": _("The password was reset and the account's sessions were ended.")}
    return render(request, "admin/partner.html", {
        "staff": staff, "partner": partner,
        "default_scope": sorted(DEFAULT_SCOPES[PartnerKind(partner.kind)]),
        "scope": service.scope_of(partner), "keys": service.list_keys(session, partner),
        "users": users.list_partner_users(session, partner),
        "done": done.get(request.query_params.get("done", "")),
        "errors": errors or {}, "values": values or {},
        "trail": [Link("/admin/partners", _("Partners"))]}, status_code=status_code)


@router.get("/admin/partners/{partner_id}")
def partner_page(request: Request, session: SessionDep, staff: PartnerAdmin,
                 partner_id: RowId) -> Response:
    return _detail(request, session, staff, service.get_partner(session, partner_id))


@router.post("/admin/partners/{partner_id}", dependencies=CSRF)
def update_partner(request: Request, session: SessionDep, staff: PartnerAdmin,
                   partner_id: RowId,
                   scope: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
                   rate_limit_per_minute: Annotated[str, Form(max_length=12)] = "",
                   active: Annotated[str, Form(max_length=8)] = "") -> Response:
    """Scope boxes can only narrow: the page offers the kind's default fields only, and
    `update_partner` refuses anything wider."""
    _ = gettext_for(request)
    partner = service.get_partner(session, partner_id)
    default = DEFAULT_SCOPES[PartnerKind(partner.kind)]
    try:
        body = validate(PartnerUpdate, {
            "scope": None if set(scope) == set(default) else scope,
            "rate_limit_per_minute": rate_limit_per_minute or None,
            "active": active == "on"},
            {"rate_limit_per_minute": _("Enter a whole number from 1 to 100,000."),
             "scope": _("Choose only fields from the list.")})
        service.update_partner(session, partner=partner, fields=body.model_dump(),
                               actor=actor_of(staff))
    except FormInvalid as exc:
        return _detail(request, session, staff, partner, errors=exc.errors, status_code=422,
                       values={"rate_limit_per_minute": rate_limit_per_minute})
    return RedirectResponse(f"/admin/partners/{partner.id}?done=saved", status_code=303)


@router.post("/admin/partners/{partner_id}/keys", dependencies=CSRF)
def create_key(request: Request, session: SessionDep, staff: PartnerAdmin, partner_id: RowId,
               label: Annotated[str, Form(max_length=400)] = "") -> Response:
    """The new key is on this answer only: not in a redirect, a log or the browser cache."""
    _ = gettext_for(request)
    partner = service.get_partner(session, partner_id)
    try:
        body = validate(KeyCreate, {"label": label},
                        {"label": _("Enter a label of up to 100 characters.")})
    except FormInvalid as exc:
        return _detail(request, session, staff, partner, errors=exc.errors, status_code=422,
                       values={"label": label})
    key, secret = service.issue_key(session, partner=partner, label=body.label,
                                    actor=actor_of(staff))
    response = render(request, "admin/key_created.html", {
        "staff": staff, "partner": partner, "key": key, "secret": secret,
        "trail": [Link("/admin/partners", _("Partners")),
                  Link(f"/admin/partners/{partner.id}", partner.name)]})
    response.headers.update(NO_STORE)
    return response


@router.get("/admin/partners/{partner_id}/keys/{key_id}/revoke")
def confirm_revoke(request: Request, session: SessionDep, staff: PartnerAdmin,
                   partner_id: RowId, key_id: RowId) -> Response:
    _ = gettext_for(request)
    partner = service.get_partner(session, partner_id)
    key = next((k for k in service.list_keys(session, partner) if k.id == key_id), None)
    if key is None:
        raise NotFound("No such key for this partner.", code="key_not_found")
    return render(request, "admin/key_revoke.html", {
        "staff": staff, "partner": partner, "key": key,
        "trail": [Link("/admin/partners", _("Partners")),
                  Link(f"/admin/partners/{partner.id}", partner.name)]})


@router.post("/admin/partners/{partner_id}/keys/{key_id}/revoke", dependencies=CSRF)
def revoke_key(session: SessionDep, staff: PartnerAdmin, partner_id: RowId,
               key_id: RowId) -> Response:
    partner = service.get_partner(session, partner_id)
    service.revoke_key(session, partner=partner, key_id=key_id, actor=actor_of(staff))
    return RedirectResponse(f"/admin/partners/{partner.id}?done=revoked", status_code=303)


@router.post("/admin/partners/{partner_id}/users", dependencies=CSRF)
def add_user(request: Request, session: SessionDep, staff: PartnerAdmin, partner_id: RowId,
             username: Annotated[str, Form(max_length=200)] = "",
             password: Annotated[str, Form(max_length=400)] = "") -> Response:
    _ = gettext_for(request)
    partner = service.get_partner(session, partner_id)
    values = {"username": username}
    try:
        body = validate(PartnerUserCreate, {"username": username, "password": password},
                        {"username": _("3 to 64 letters, digits or . _ @ -"),
                         "password": _("Enter a password.")})
        users.create_partner_user(session, partner=partner, username=body.username,
                                  password=body.password, actor=actor_of(staff))
    except FormInvalid as exc:
        return _detail(request, session, staff, partner, errors=exc.errors, values=values,
                       status_code=422)
    except DomainError as exc:
        messages = {"username_taken": ("username", _("This username is taken.")),
                    "weak_password": ("password", _("Use at least 12 characters, without "
                                                    "the username."))}
        if exc.code not in messages:
            raise
        field, message = messages[exc.code]
        return _detail(request, session, staff, partner, errors={field: message},
                       values=values, status_code=exc.status_code)
    return RedirectResponse(f"/admin/partners/{partner.id}?done=user_added", status_code=303)


@router.post("/admin/partners/{partner_id}/users/{user_id}/deactivate", dependencies=CSRF)
def deactivate_user(session: SessionDep, staff: PartnerAdmin, partner_id: RowId,
                    user_id: RowId) -> Response:
    partner = service.get_partner(session, partner_id)
    users.deactivate_partner_user(session, partner=partner, user_id=user_id,
                                  actor=actor_of(staff))
    return RedirectResponse(f"/admin/partners/{partner.id}?done=user_deactivated",
                            status_code=303)


@router.post("/admin/partners/{partner_id}/users/password", dependencies=CSRF)
def reset_user_password(request: Request, session: SessionDep, staff: PartnerAdmin,
                        partner_id: RowId, user_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
                        new_password: Annotated[str, Form(max_length=400)] = "") -> Response:
    """A new password for a desk user who forgot it or is locked out."""
    _ = gettext_for(request)
    partner = service.get_partner(session, partner_id)
    user = users.get_partner_user(session, partner=partner, user_id=user_id)
    try:
        users.set_password(session, user=user, password=new_password, actor=actor_of(staff))
    except DomainError as exc:
        if exc.code != "weak_password":
            raise
        return _detail(request, session, staff, partner, status_code=exc.status_code,
                       errors={"new_password": _("Use at least 12 characters, without the "
                                                 "username.")})
    return RedirectResponse(f"/admin/partners/{partner.id}?done=password", status_code=303)
