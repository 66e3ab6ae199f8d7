"""Reading an import file: its fingerprint, its header, its rows and their photos.

The whole file is read once before anything is written, so a file that is not UTF-8
CSV, or names a column idsvc does not accept, is refused whole rather than halfway.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from idsvc.bulk.columns import PHOTO, Rejection, RowRejected, check_header
from idsvc.errors import Invalid

_CHUNK = 1 << 20


@dataclass(frozen=True)
class SourceRow:
    """One row: the line it starts on, its cells by column, and its photo file."""

    line: int
    cells: dict[str, str]
    photo: Path | None = None
    problem: Rejection | None = None

    def photo_bytes(self) -> bytes:
        """Read by the process that prepares the row (idsvc.bulk.preparation)."""
        assert self.photo is not None
        try:
            return self.photo.read_bytes()
        except OSError as exc:
            raise RowRejected([Rejection(self.line, PHOTO, "photo_unreadable",
                                         "The photo file cannot be read.")]) from exc


@dataclass(frozen=True)
class ImportSource:
    path: Path
    photos_dir: Path
    sha256: str
    columns: list[str]
    rows: int
    photo_max_bytes: int

    @classmethod
    def open(cls, path: Path, *, photos_dir: Path | None, photo_max_bytes: int) -> ImportSource:
        """Fingerprint and check the whole file; refuse it before any row is imported."""
        digest = hashlib.sha256()
        try:
            with path.open("rb") as raw:
                while chunk := raw.read(_CHUNK):
                    digest.update(chunk)
            columns, rows = _count(path)
        except OSError as exc:
            raise Invalid(f"Cannot read the import file: {exc.strerror}.",
                          code="file_unreadable") from exc
        folder = (photos_dir or path.parent).resolve()
        if not folder.is_dir():
            raise Invalid("The photo folder does not exist.", code="photos_dir_missing")
        return cls(path, folder, digest.hexdigest(), columns, rows, photo_max_bytes)

    def rows_after(self, line: int) -> Iterator[SourceRow]:
        """Every non-empty row starting after `line`, its photo file found."""
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            end = reader.line_num
            for cells in reader:
                start, end = end + 1, reader.line_num
                if start <= line or not any(cell.strip() for cell in cells):
                    continue
                yield self._row(start, cells)

    def _row(self, line: int, cells: list[str]) -> SourceRow:
        if any(cell.strip() for cell in cells[len(self.columns):]):
            return SourceRow(line, {}, problem=Rejection(
                line, "", "too_many_cells", "The row has more cells than the header."))
        values = dict(zip(self.columns, cells, strict=False))
        try:
            return SourceRow(line, values, photo=self._photo(line, values.get(PHOTO, "")))
        except RowRejected as exc:
            return SourceRow(line, values, problem=exc.rejections[0])

    def _photo(self, line: int, name: str) -> Path:
        """The photo file, which must lie inside the photo folder (file names are not
        echoed: they often carry the person's name)."""
        def refuse(code: str, message: str) -> RowRejected:
            return RowRejected([Rejection(line, PHOTO, code, message)])

        if not name.strip():
            raise refuse("missing", "No photo file is named.")
        path = (self.photos_dir / name.strip()).resolve()
        if not path.is_relative_to(self.photos_dir):
            raise refuse("photo_outside_folder", "The photo must be inside the photo folder.")
        if not path.is_file():
            raise refuse("photo_not_found", "The photo file is not in the photo folder.")
        if path.stat().st_size > self.photo_max_bytes:
            raise refuse("photo_too_large", "The photo file is too large.")
        return path


def _count(path: Path) -> tuple[list[str], int]:
    """The checked header and the number of non-empty rows (a decoding or CSV error
    anywhere refuses the file, with the line where it happened)."""
    line = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise Invalid("The import file is empty.", code="file_empty")
            columns = check_header(header)
            rows = 0
            for cells in reader:
                line = reader.line_num
                rows += any(cell.strip() for cell in cells)
    except UnicodeDecodeError as exc:
        raise Invalid(f"The file is not UTF-8 text (after line {line}).",
                      code="file_not_utf8") from exc
    except csv.Error as exc:
        raise Invalid(f"The file is not valid CSV near line {line}.",
                      code="file_not_csv") from exc
    return columns, rows
