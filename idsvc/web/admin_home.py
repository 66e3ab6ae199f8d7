"""/admin/: the administrator's start page, and what every admin page shares.

The shared part is small: who may open an admin page, the trail of links back up, and
turning an API schema's validation error into messages next to the form's fields (the
pages validate with the same schemas as the JSON API, so a rule lives in one place).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from idsvc.errors import Forbidden
from idsvc.staff.models import Staff
from idsvc.staff.pages import PageStaff
from idsvc.staff.roles import Permission, can
from idsvc.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
ADMIN_AREAS = (Permission.MANAGE_PARTNERS, Permission.MANAGE_STAFF, Permission.MANAGE_KEYS,
               Permission.READ_REPORTS)
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Link:
    href: str
    text: str


class FormInvalid(Exception):
    """A form the user can fix: messages by field name ("" for the whole form)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def validate(schema: type[BaseModel], data: Mapping[str, Any],
             messages: Mapping[str, str],
             whole: Mapping[str, tuple[str, str]] | None = None) -> Any:
    """`schema` built from form data, or FormInvalid with the page's own (translated) words.

    `messages` says what a field wants; `whole` maps the text of a cross-field check
    (min above max...) to the field it concerns and its message.
    """
    try:
        return schema.model_validate(dict(data))
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for problem in exc.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            if name and name in messages:
                errors.setdefault(name, messages[name])
                continue
            for text, (target, message) in (whole or {}).items():
                if text in problem["msg"]:
                    errors.setdefault(target, message)
                    break
            else:
                errors.setdefault("", messages.get("", problem["msg"]))
        raise FormInvalid(errors) from exc


def admin_staff(staff: PageStaff) -> Staff:
    """Anyone with an administrator's or an auditor's permission."""
    if not any(can(staff.role, area) for area in ADMIN_AREAS):
        raise Forbidden("Your role may not open this page.", code="forbidden")
    return staff


@router.get("/admin/")
def admin_home(request: Request, staff: Staff = Depends(admin_staff)) -> Response:
    _ = gettext_for(request)
    areas = [
        (Permission.MANAGE_PARTNERS, "/admin/partners", _("Partners"),
         _("Organisations that check cards: their scope, API keys, desk users and benefits.")),
        (Permission.MANAGE_STAFF, "/admin/staff", _("Staff accounts"),
         _("Clerks, supervisors, administrators and auditors: create, reset a password, "
           "deactivate.")),
        (Permission.MANAGE_KEYS, "/admin/keys", _("Signing keys"),
         _("Rotate, retire, or mark a key compromised and reissue its cards.")),
        (Permission.READ_REPORTS, "/admin/reports", _("Reports"),
         _("Cards issued, redemptions and verifications: counts only, never a person.")),
    ]
    tiles = [(href, title, text) for permission, href, title, text in areas
             if can(staff.role, permission)]
    return render(request, "admin/home.html", {"staff": staff, "tiles": tiles})
