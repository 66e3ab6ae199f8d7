"""Import runs (so an interrupted import resumes where it stopped) and print batches."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from idsvc.db import UTCDateTime


class ImportRun(SQLModel, table=True):
    """One CSV file's import. Its progress is updated in the same transaction as each batch
    of rows, so `last_line` is exactly what is committed: a re-run continues after it."""

    __tablename__ = "import_runs"

    id: int | None = Field(default=None, primary_key=True)
    # The file's content identifies the run: the same file resumes, a changed one is new.
    file_sha256: str = Field(max_length=64, unique=True)
    centre_id: int = Field(foreign_key="service_centres.id")
    started_by: str = Field(foreign_key="staff.id", max_length=32)
    started_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    rows_total: int
    last_line: int = 0  # the line where the last committed row starts; 0 before any
    imported: int = 0
    rejected: int = 0
    allow_duplicates: bool = False
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ImportRejection(SQLModel, table=True):
    """Why a row was not imported: its line, the column and a reason code, never its data."""

    __tablename__ = "import_rejections"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="import_runs.id", index=True)
    line: int
    column_name: str = Field(max_length=64)
    code: str = Field(max_length=64)
    message: str = Field(max_length=500)


class PrintBatch(SQLModel, table=True):
    """Cards sent to the card printer together, as one PDF grouped by service centre."""

    __tablename__ = "print_batches"

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int | None = Field(default=None, foreign_key="service_centres.id", index=True)
    selection: str = Field(max_length=20)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, foreign_key="staff.id", max_length=32)
    card_count: int
    printed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PrintBatchCard(SQLModel, table=True):
    """A card in a batch, at its place in the sheet; a later step marks them mailed."""

    __tablename__ = "print_batch_cards"

    batch_id: int = Field(foreign_key="print_batches.id", primary_key=True)
    card_id: str = Field(foreign_key="cards.id", primary_key=True, max_length=32, index=True)
    position: int
