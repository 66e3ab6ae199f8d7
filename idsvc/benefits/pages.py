"""The public benefit catalogue page: what a cardholder can use, with no login.

It shows exactly what `GET /api/v1/benefits` returns (the same service query and the
same `benefit_public`), so the page and partners' apps never disagree about a benefit or
its remaining quota.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from idsvc.benefits import service
from idsvc.benefits.schemas import benefit_public
from idsvc.clock import local_today
from idsvc.db import SessionDep
from idsvc.runtime import RuntimeDep
from idsvc.web.templating import render

public_router = APIRouter(include_in_schema=False)


def _partner_id(text: str) -> int | None:
    """The partner filter as the form sends it: empty (all) or a row id."""
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


@public_router.get("/benefits")
def catalogue(request: Request, session: SessionDep, runtime: RuntimeDep,
              category: str = "", partner: str = "") -> Response:
    today = local_today(runtime.settings.timezone)
    everything = [benefit_public(b, p) for b, p in service.catalogue(session, today=today)]
    categories = sorted({b.category for b in everything})
    partners = sorted({(b.partner.name, b.partner.id) for b in everything})
    chosen_partner = _partner_id(partner)
    # The filters narrow the same list the API gives for `?category=&partner_id=`.
    shown = [b for b in everything if (not category or b.category == category)
             and (chosen_partner is None or b.partner.id == chosen_partner)]
    return render(request, "benefits/catalogue.html", {
        "benefits": shown, "categories": categories, "partners": partners,
        "category": category, "partner": chosen_partner})
