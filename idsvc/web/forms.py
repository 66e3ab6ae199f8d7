"""Reading posted forms, and turning a schema's validation error into messages by field.

The pages validate with the same pydantic schemas as the JSON API, so a rule lives in one
place; what differs from page to page is only which form field a problem belongs to and
the (translated) words shown next to it. Submitted values are never echoed in a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Form
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData

from idsvc.web.csrf import CSRF_FIELD

Shown = TypeVar("Shown")

# The fields every login form has (staff, partner desks, residents' `next`), bounded alike.
Username = Annotated[str, Form(max_length=64)]
Password = Annotated[str, Form(max_length=256)]
NextPath = Annotated[str, Form(max_length=2000)]  # checked with `safe_next` before use


def form_text(form: FormData, name: str) -> str:
    """A text field, trimmed; "" when absent or when a file was sent under that name."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def range_query(since: date | str | None, until: date | str | None) -> str:
    """The `from`/`to` query of a date-range filter, for links that keep the filter
    ("" when neither is set); dates are ISO, so nothing needs escaping."""
    return "&".join(f"{name}={value}" for name, value in (("from", since), ("to", until))
                    if value)


def unknown_fields(form: FormData, allowed: Iterable[str]) -> list[str]:
    """Field names the form does not have (e.g. `nationality`): the whole post is refused,
    so nothing the city must not hold is stored or shown back."""
    known = {*allowed, CSRF_FIELD}
    return sorted({name for name in form if name not in known})


def by_field(exc: ValidationError,
             explain: Callable[[ErrorDetails], tuple[str, Shown]]) -> dict[str, Shown]:
    """What to show next to each form field: `explain` gives a problem's field and what
    to show; the first problem of a field wins, so each field gets one message."""
    shown: dict[str, Shown] = {}
    for problem in exc.errors():
        field, message = explain(problem)
        shown.setdefault(field, message)
    return shown


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

    def explain(problem: ErrorDetails) -> tuple[str, str]:
        name = str(problem["loc"][0]) if problem["loc"] else ""
        if name and name in messages:
            return name, messages[name]
        for text, (target, message) in (whole or {}).items():
            if text in problem["msg"]:
                return target, message
        return "", messages.get("", problem["msg"])

    try:
        return schema.model_validate(dict(data))
    except ValidationError as exc:
        raise FormInvalid(by_field(exc, explain)) from exc
