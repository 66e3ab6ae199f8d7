"""An operator's set-up on a scratch database, and import files built for each test."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from idsvc.config import get_settings
from tests.commands import idsvc_commands
from tests.conftest import PASSWORD
from tests.factories import portrait

Run = Callable[..., Result]
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def run(scratch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """`idsvc ...` against a migrated scratch database with keys, two centres and staff
    (supervisor `sam` at NORTH, clerk `cleo` at NORTH, admin `ada`)."""
    invoke = idsvc_commands(monkeypatch, database_url=scratch_url,
                            keys_dir=str(tmp_path / "keys"))
    invoke("db", "upgrade")
    invoke("keys", "generate")
    invoke("centre", "create", "NORTH", "North Centre")
    invoke("centre", "create", "SOUTH", "South Centre")
    for username, role, centre in (("sam", "supervisor", "NORTH"), ("cleo", "clerk", "NORTH"),
                                   ("ada", "admin", None)):
        invoke("staff", "create", username, "--role", role, "--password", PASSWORD,
               *(("--centre", centre) if centre else ()))
    yield invoke
    get_settings.cache_clear()


def name(i: int) -> str:
    """A distinct name made of letters for row `i` (names must contain letters)."""
    letters = []
    while True:
        i, r = divmod(i, 26)
        letters.append(_LETTERS[r])
        if i == 0:
            return "".join(reversed(letters)).title() + "ya"


def person(i: int, **overrides: Any) -> dict[str, str]:
    row = {"given_name": name(i), "family_name": "Importer", "date_of_birth": "1979-05-11",
           "gender": "X", "address_line1": f"{i + 1} Canal Street", "address_city": "Riverton",
           "address_postal_code": "10013", "preferred_languages": "spa;eng",
           "organ_donor": "yes", "documents": "passport;utility_bill", "photo": "face.jpg"}
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """The import file, plus the photo its rows name, in the same folder."""
    columns = columns or list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    (path.parent / "face.jpg").write_bytes(portrait())
    return path
