"""Public pages every visitor may see: the start page and the language choice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from idsvc.runtime import runtime_of
from idsvc.web import i18n
from idsvc.web.cookies import set_language_cookie
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import NextPath
from idsvc.web.navigation import safe_next
from idsvc.web.templating import render

public_router = APIRouter(include_in_schema=False)


@public_router.get("/")
def home(request: Request) -> Response:
    return render(request, "home.html", {"city": runtime_of(request).settings.city_name})


@public_router.post("/language", dependencies=[Depends(check_csrf)])
def choose_language(request: Request, language: Annotated[str, Form(max_length=16)],
                    next: NextPath = "/") -> Response:
    """Remember the chosen language for a year; unknown codes fall back to negotiation."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in i18n.LANGUAGES:
        set_language_cookie(response, runtime_of(request).settings, language)
    return response
