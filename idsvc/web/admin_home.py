"""/admin/: the administrator's start page, and what every admin page shares.

The shared part is small: who may open an admin page and the trail of links back up
(forms are read and checked with `idsvc.web.forms`, as on every other page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission, can
from idsvc.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
ADMIN_AREAS = (Permission.MANAGE_PARTNERS, Permission.MANAGE_CENTRES, Permission.MANAGE_STAFF,
               Permission.MANAGE_KEYS, Permission.READ_REPORTS)
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Link:
    """One step of the trail back up from an admin page (its parents, not the page)."""

    href: str
    text: str


# Anyone with an administrator's or an auditor's permission.
AdminStaff = Annotated[Staff, Depends(page_require(*ADMIN_AREAS))]


@router.get("/admin/")
def admin_home(request: Request, staff: AdminStaff) -> Response:
    _ = gettext_for(request)
    areas = [
        (Permission.MANAGE_PARTNERS, "/admin/partners", _("Partners"),
         _("Organisations that check cards: their scope, API keys, desk users and benefits.")),
        (Permission.MANAGE_CENTRES, "/admin/centres", _("Service centres"),
         _("Opening hours, languages, seats per slot, closures and the release of "
           "appointments.")),
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
