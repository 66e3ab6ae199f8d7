"""Administrator pages for a partner's benefits: list, create, edit.

The forms are checked by the API's own schemas (`BenefitCreate`, `BenefitUpdate`) and
saved by the same service functions, so a benefit made here obeys the same rules as
one made through /api/v1; problems are shown next to the fields.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from idsvc.benefits import service
from idsvc.benefits.models import Benefit
from idsvc.benefits.rules import Period
from idsvc.benefits.schemas import BenefitCreate, BenefitUpdate
from idsvc.db import RowId, SessionDep
from idsvc.errors import DomainError
from idsvc.partners.models import Partner
from idsvc.partners.service import get_partner
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of
from idsvc.web.admin_home import Link
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import FormInvalid, validate
from idsvc.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
PartnerAdmin = Annotated[Staff, Depends(page_require(Permission.MANAGE_PARTNERS))]
CSRF = [Depends(check_csrf)]
Short = Annotated[str, Form(max_length=40)]
Long = Annotated[str, Form(max_length=2000)]


def _messages(request: Request) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """What each field wants, and the cross-field checks, in the page's language."""
    _ = gettext_for(request)
    age = _("An age from 0 to 130, or empty.")
    return ({"name": _("Enter a name of up to 200 characters."),
             "category": _("Lower-case letters and _ only, 2 to 32 characters."),
             "description": _("At most 1,000 characters."),
             "limit": _("A number of times from 1 to 1,000, per a listed period."),
             "min_age": age, "max_age": age,
             "quota": _("A whole number of 1 or more, or empty for no cap."),
             "starts_on": _("A date, or empty."), "ends_on": _("A date, or empty."),
             "active": _("Choose yes or no."), "": _("Check the form.")},
            {"min_age is above max_age": ("max_age",
                                          _("The maximum age is below the minimum age.")),
             "starts_on is after ends_on": ("ends_on",
                                            _("The last day is before the first day."))})


def _trail(request: Request, partner: Partner) -> list[Link]:
    _ = gettext_for(request)
    return [Link("/admin/partners", _("Partners")),
            Link(f"/admin/partners/{partner.id}", partner.name),
            Link(f"/admin/partners/{partner.id}/benefits", _("Benefits"))]


def _or_none(value: str) -> str | None:
    return value.strip() or None


@router.get("/admin/partners/{partner_id}/benefits")
def benefits_page(request: Request, session: SessionDep, staff: PartnerAdmin,
                  partner_id: RowId) -> Response:
    _ = gettext_for(request)
    partner = get_partner(session, partner_id)
    done = {"created": _("The benefit was added."), "saved": _("The benefit was saved.")}
    return render(request, "admin/benefits.html", {
        "staff": staff, "partner": partner, "benefits": service.benefits_of(session, partner.id),
        "done": done.get(request.query_params.get("done", "")),
        "trail": _trail(request, partner)[:2]})


def _new_form(request: Request, staff: Staff, partner: Partner, *, values: dict[str, Any],
              errors: dict[str, str], status_code: int = 200) -> Response:
    return render(request, "admin/benefit_new.html", {
        "staff": staff, "partner": partner, "values": values, "errors": errors,
        "periods": list(Period), "trail": _trail(request, partner)}, status_code=status_code)


@router.get("/admin/partners/{partner_id}/benefits/new")
def new_benefit_page(request: Request, session: SessionDep, staff: PartnerAdmin,
                     partner_id: RowId) -> Response:
    return _new_form(request, staff, get_partner(session, partner_id),
                     values={"limit_count": "1", "limit_period": "lifetime",
                             "category": "other"}, errors={})


@router.post("/admin/partners/{partner_id}/benefits", dependencies=CSRF)
def create_benefit(request: Request, session: SessionDep, staff: PartnerAdmin,
                   partner_id: RowId, name: Long = "", category: Short = "",
                   description: Long = "", limit_count: Short = "", limit_period: Short = "",
                   min_age: Short = "", max_age: Short = "", quota: Short = "",
                   one_per_household: Short = "", starts_on: Short = "",
                   ends_on: Short = "") -> Response:
    partner = get_partner(session, partner_id)
    values = {"name": name, "category": category, "description": description,
              "limit_count": limit_count, "limit_period": limit_period, "min_age": min_age,
              "max_age": max_age, "quota": quota, "one_per_household": one_per_household,
              "starts_on": starts_on, "ends_on": ends_on}
    messages, whole = _messages(request)
    try:
        body = validate(BenefitCreate, {
            "name": name, "category": category.strip() or "other", "description": description,
            "limit": {"count": limit_count.strip() or "1",
                      "period": limit_period or "lifetime"},
            "min_age": _or_none(min_age), "max_age": _or_none(max_age),
            "quota": _or_none(quota), "one_per_household": one_per_household == "on",
            "starts_on": _or_none(starts_on), "ends_on": _or_none(ends_on)}, messages, whole)
    except FormInvalid as exc:
        return _new_form(request, staff, partner, values=values, errors=exc.errors,
                         status_code=422)
    service.create_benefit(session, partner=partner, fields=body.model_dump(),
                           actor=actor_of(staff))
    return RedirectResponse(f"/admin/partners/{partner.id}/benefits?done=created",
                            status_code=303)


def _edit_form(request: Request, session: Session, staff: Staff, benefit: Benefit, *,
               values: dict[str, Any], errors: dict[str, str],
               status_code: int = 200) -> Response:
    partner = get_partner(session, benefit.partner_id)
    return render(request, "admin/benefit_edit.html", {
        "staff": staff, "partner": partner, "benefit": benefit, "values": values,
        "errors": errors, "trail": _trail(request, partner)}, status_code=status_code)


@router.get("/admin/benefits/{benefit_id}")
def edit_benefit_page(request: Request, session: SessionDep, staff: PartnerAdmin,
                      benefit_id: RowId) -> Response:
    benefit = service.get_benefit(session, benefit_id)
    return _edit_form(request, session, staff, benefit, errors={}, values={
        "description": benefit.description, "quota": benefit.quota or "",
        "ends_on": benefit.ends_on.isoformat() if benefit.ends_on else "",
        "active": "on" if benefit.active else ""})


@router.post("/admin/benefits/{benefit_id}", dependencies=CSRF)
def update_benefit(request: Request, session: SessionDep, staff: PartnerAdmin,
                   benefit_id: RowId, description: Long = "", quota: Short = "",
                   ends_on: Short = "", active: Short = "") -> Response:
    """Only what PATCH /api/v1/benefits/{id} may change: the rest is fixed once offered."""
    benefit = service.get_benefit(session, benefit_id)
    values = {"description": description, "quota": quota, "ends_on": ends_on,
              "active": active}
    messages, whole = _messages(request)
    _ = gettext_for(request)
    try:
        body = validate(BenefitUpdate, {"description": description, "quota": _or_none(quota),
                                        "ends_on": _or_none(ends_on), "active": active == "on"},
                        messages, whole)
        service.update_benefit(session, benefit=benefit, fields=body.model_dump(),
                               actor=actor_of(staff))
    except FormInvalid as exc:
        return _edit_form(request, session, staff, benefit, values=values, errors=exc.errors,
                          status_code=422)
    except DomainError as exc:
        if exc.code != "invalid_window":
            raise
        session.expire(benefit)  # drop the refused change; nothing was flushed
        return _edit_form(request, session, staff, benefit, values=values, status_code=422,
                          errors={"ends_on": _("The last day is before the first day.")})
    return RedirectResponse(f"/admin/partners/{benefit.partner_id}/benefits?done=saved",
                            status_code=303)
