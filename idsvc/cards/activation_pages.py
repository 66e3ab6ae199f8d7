"""The public page where a mailed card's holder activates it: `/card/activate`.

A thin page over `activation.activate_with_code`, which decides (and counts wrong codes);
the logged-in resident card page posts the same code to `/resident/card/activate`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from idsvc.cards import activation, numbers
from idsvc.cards.models import Card
from idsvc.db import SessionDep
from idsvc.web.csrf import check_csrf
from idsvc.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/card/activate")
def activate_form(request: Request) -> Response:
    return render(request, "cards/activate.html", {})


@router.post("/card/activate", dependencies=[Depends(check_csrf)])
def activate(request: Request, session: SessionDep,
             card_number: Annotated[str, Form(max_length=32)],
             code: Annotated[str, Form(max_length=32)]) -> Response:
    outcome = activation.activate_with_code(session, number_text=card_number, code=code)
    if not isinstance(outcome, Card):
        return render(request, "cards/activate.html",
                      {"card_number": card_number, "error": outcome.code},
                      status_code=outcome.status_code)
    return render(request, "cards/activated.html",
                  {"card_number": numbers.display(outcome.number)})
