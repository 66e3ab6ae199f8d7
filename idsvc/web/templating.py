"""Jinja2 templates from `templates/`, rendered in the request's language.

One environment per language, each with its gettext catalog installed (new-style
gettext, so `_("Hello %(name)s", name=x)` escapes and formats safely). Templates are
compiled once per language and shared by every request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from idsvc.web import i18n
from idsvc.web.csrf import CSRF_FIELD, attach_cookie, csrf_token

# idsvc/templates: in a checkout a link to templates/, in an installed wheel the files.
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
# CLDR has no month names for Haitian Creole ("2026 M03 31"): numbers, day first as in Haiti.
_NUMERIC_DATES = {"ht": ("dd/MM/yyyy", "dd/MM/yyyy HH:mm")}


@lru_cache(maxsize=len(i18n.LANGUAGES))
def environment(code: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(code), newstyle=True)  # type: ignore[attr-defined]
    locale = code

    numeric = _NUMERIC_DATES.get(code)

    def day(value: date | None, style: str = "medium") -> str:
        pattern = numeric[0] if numeric else style
        return "" if value is None else format_date(value, format=pattern, locale=locale)

    def moment(value: datetime | None, style: str = "medium") -> str:
        pattern = numeric[1] if numeric else style
        return "" if value is None else format_datetime(value, format=pattern, locale=locale)

    def number(value: float | int) -> str:
        return format_decimal(value, locale=locale)

    env.filters.update(day=day, moment=moment, number=number)
    env.globals.update(languages=list(i18n.LANGUAGES.values()), csrf_field=CSRF_FIELD)
    return env


def gettext_for(request: Request) -> Callable[[str], str]:
    """The translation function of the request's language, for text made outside templates."""
    return i18n.translations(language_of(request)).gettext


def language_of(request: Request) -> str:
    cached = getattr(request.state, "language", None)
    if cached is None:
        cached = request.state.language = i18n.negotiate(request)
    return cached


def render(request: Request, name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    """Render a page in the request's language, with what every page needs."""
    code = language_of(request)
    page = environment(code).get_template(name).render({
        "request": request,
        "lang": i18n.LANGUAGES[code],
        "csrf_token": csrf_token(request),
        **(context or {}),
    })
    response = HTMLResponse(page, status_code=status_code)
    attach_cookie(request, response)
    return response
