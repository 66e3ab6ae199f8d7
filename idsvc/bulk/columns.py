"""The import file's columns, derived from the enrollment schema so the two cannot drift.

Each field of `PersonalData` is a column; a nested part (address, emergency contact,
caretaker, contact) becomes one column per field with the part's name as a prefix
(`address_line1`, `caretaker_card_number`); lists are separated by ";". Two columns
are the import's own: `documents` (the examined document types, ";"-separated policy
codes) and `photo` (a file name inside the photo folder). A header naming anything
else refuses the whole file: data the city must not hold (such as a status or a
nationality from an older program) is never read, let alone stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from idsvc.enrollment.schemas import ApplicationCreate
from idsvc.errors import Invalid
from idsvc.residents.schemas import PersonalData

DOCUMENTS = "documents"
PHOTO = "photo"
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    name: str
    field: str
    part: str | None  # the nested model's field, for prefixed columns
    is_list: bool
    required: bool


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _columns() -> dict[str, Column]:
    columns: dict[str, Column] = {}
    for field, info in PersonalData.model_fields.items():
        model = _nested_model(info.annotation)
        if model is None:
            columns[field] = Column(field, field, None, get_origin(info.annotation) is list,
                                    info.is_required())
            continue
        for part, part_info in model.model_fields.items():
            name = f"{field}_{part}"
            columns[name] = Column(name, field, part, False,
                                   info.is_required() and part_info.is_required())
    return columns


COLUMNS = _columns()
ALL_COLUMNS = (*COLUMNS, DOCUMENTS, PHOTO)
REQUIRED_COLUMNS = (*(c.name for c in COLUMNS.values() if c.required), DOCUMENTS, PHOTO)


def check_header(header: list[str]) -> list[str]:
    """The header's column names; refuses unknown, repeated or missing required columns."""
    names = [name.strip() for name in header]
    unknown = [name for name in names if name not in ALL_COLUMNS]
    if unknown:
        raise Invalid("The file has columns idsvc does not accept, so nothing was imported: "
                      + ", ".join(repr(n) for n in unknown)
                      + ". Remove them; the accepted columns are: " + ", ".join(ALL_COLUMNS),
                      code="unknown_column", columns=unknown)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise Invalid("These columns appear more than once: " + ", ".join(repeated),
                      code="repeated_column", columns=repeated)
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise Invalid("The file lacks required columns: " + ", ".join(missing),
                      code="missing_column", columns=missing)
    return names


@dataclass(frozen=True)
class Rejection:
    """Why a row is refused: a column, a reason code and a message that names no value."""

    line: int
    column: str
    code: str
    message: str


class RowRejected(Exception):
    def __init__(self, rejections: list[Rejection]) -> None:
        super().__init__(", ".join(r.code for r in rejections))
        self.rejections = rejections


def application_from(cells: dict[str, str], *, line: int, centre_id: int) -> ApplicationCreate:
    """The row as the same input model the API takes, validated by the same rules."""
    data: dict[str, Any] = {}
    for name, column in COLUMNS.items():
        value: Any = (cells.get(name) or "").strip()
        if not value:
            continue  # an empty cell is a field left out: the schema's default applies
        if column.is_list:
            value = [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
        if column.part is None:
            data[column.field] = value
        else:
            data.setdefault(column.field, {})[column.part] = value
    try:
        return ApplicationCreate.model_validate({**data, "centre_id": centre_id})
    except ValidationError as exc:
        raise RowRejected([Rejection(line, _column_of(error["loc"]), error["type"],
                                     error["msg"]) for error in exc.errors()]) from exc


def _column_of(loc: tuple[int | str, ...]) -> str:
    """`("address", "line1")` -> `address_line1`; a list item is its list's column."""
    parts = [str(p) for p in loc if isinstance(p, str)]
    return "_".join(parts[:2])


def documents_of(cells: dict[str, str]) -> list[str]:
    return [code.strip() for code in (cells.get(DOCUMENTS) or "").split(LIST_SEPARATOR)
            if code.strip()]
