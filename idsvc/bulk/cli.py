"""The `idsvc import` and `idsvc card print-batch` commands (registered in idsvc/cli.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from idsvc.audit.service import Actor
from idsvc.bulk.importer import (
    DEFAULT_BATCH,
    Importer,
    ImportOptions,
    find_run,
    rejections,
    run_import,
)
from idsvc.bulk.models import ImportRun
from idsvc.bulk.printing import DEFAULT_CARDS, MAX_CARDS, Selection, create_batch, print_sheet
from idsvc.bulk.source import ImportSource
from idsvc.cards.mailing import waiting_for_mailer
from idsvc.cards.mailing_cli import write_mailers
from idsvc.cards.service import PrintLayout
from idsvc.centres.service import find_centre
from idsvc.commands import checked_settings
from idsvc.crypto.envelope import load_master_key
from idsvc.csvfile import csv_text
from idsvc.db import make_engine, make_sessionmaker
from idsvc.enrollment.policy import load_policy
from idsvc.errors import DomainError, NotFound

CLI_ACTOR = Actor("system", "cli")
REPORT_FIELDS = ("line", "column", "code", "message")


def _fail(exc: DomainError) -> typer.Exit:
    typer.secho(f"error: {exc.message} ({exc.code})", fg="red", err=True)
    return typer.Exit(1)


def _write_report(importer: Importer, source: ImportSource, path: Path) -> ImportRun | None:
    """The rejected rows of every session of this file's run, as CSV: no personal data,
    only where (line, column) and why (code, message)."""
    with importer.sessions() as session:
        run = find_run(session, source.sha256)
        if run is None or run.id is None:
            return None
        rows = [{"line": r.line, "column": r.column, "code": r.code, "message": r.message}
                for r in rejections(session, run.id)]
    path.write_text(csv_text(REPORT_FIELDS, rows), encoding="utf-8")
    return run


def import_csv(
    file: Annotated[Path, typer.Argument(help="CSV file: UTF-8, a header row of accepted "
                                              "columns (see README), one resident per row.")],
    centre: Annotated[str, typer.Option(help="Service centre code for every application.")],
    as_user: Annotated[str, typer.Option("--as", help="Username of the supervisor or "
                                                      "administrator who approves.")],
    photos: Annotated[Path | None, typer.Option(
        help="Folder of the photo files the `photo` column names (default: the CSV's).")]
    = None,
    allow_duplicates: Annotated[bool, typer.Option(
        help="Import rows matching a resident who holds or seeks a card.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=5000,
                                            help="Rows per transaction.")] = DEFAULT_BATCH,
    report: Annotated[Path | None, typer.Option(
        help="Rejected rows, as CSV (default: FILE.rejected.csv).")] = None,
    workers: Annotated[int | None, typer.Option(
        min=0, max=64, help="Processes checking, photographing and signing rows while this "
                            "one stores them (default: one per core; 0: this process).")]
    = None,
) -> None:
    """Enroll and issue cards for every row of a CSV file, with the API's rules.

    Re-run the same command after an interruption: it continues after the last committed
    row and never imports a row twice.
    """
    settings = checked_settings()
    engine = make_engine(settings.database_url)
    importer = Importer(make_sessionmaker(engine), settings,
                        load_master_key(keys_dir=settings.keys_dir, encoded=settings.data_key),
                        load_policy(settings.policy_file))
    report = report or file.with_suffix(".rejected.csv")
    options = ImportOptions(centre, as_user, allow_duplicates, batch_size,
                            os.cpu_count() or 1 if workers is None else workers)
    started = time.monotonic()
    source: ImportSource | None = None
    try:
        source = ImportSource.open(file, photos_dir=photos,
                                   photo_max_bytes=settings.photo_max_bytes)
        with Progress("{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=Console(stderr=True)) as progress:
            task = progress.add_task("importing", total=source.rows)
            run = run_import(importer, source, options, on_progress=lambda r: progress.update(
                task, completed=r.imported + r.rejected))
        _write_report(importer, source, report)
    except DomainError as exc:
        if source is not None:  # what was committed before the refusal
            _write_report(importer, source, report)
        raise _fail(exc) from exc
    except KeyboardInterrupt as exc:
        stopped = _write_report(importer, source, report) if source else None
        typer.secho(f"interrupted: rows up to line {stopped.last_line if stopped else 0} are "
                    "committed; run the same command again to continue.", fg="yellow",
                    err=True)
        raise typer.Exit(130) from exc
    finally:
        engine.dispose()
    typer.echo(f"import run {run.id}: {run.imported} imported, {run.rejected} rejected of "
               f"{run.rows_total} rows (rejected rows: {report}); "
               f"{time.monotonic() - started:.1f} s")


def print_batch(
    out: Annotated[Path, typer.Option(help="The PDF to write (created owner-only).")],
    centre: Annotated[str | None, typer.Option(help="Service centre code; all when unset.")]
    = None,
    status: Annotated[Selection, typer.Option(help="approved: every card in use; "
                                                   "not-yet-printed: those in no batch.")]
    = Selection.NOT_YET_PRINTED,
    limit: Annotated[int, typer.Option(min=1, max=MAX_CARDS, help="Cards in the batch.")]
    = DEFAULT_CARDS,
    mailers: Annotated[Path | None, typer.Option(
        help="Also write the mailer letters of the batch's mailed cards here (owner-only); "
             "`idsvc card mailers` reprints them, `idsvc card posted` marks them sent.")]
    = None,
) -> None:
    """Make a print batch and write its sheet: one PDF for a card printer, grouped by centre."""
    settings = checked_settings()
    keys = load_master_key(keys_dir=settings.keys_dir, encoded=settings.data_key)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            chosen = find_centre(session, code=centre) if centre is not None else None
            if centre is not None and chosen is None:
                raise NotFound(f"No service centre {centre!r}.", code="centre_not_found")
            batch = create_batch(session, centre=chosen, selection=status, limit=limit,
                                 actor=CLI_ACTOR, created_by=None)
            sheet = print_sheet(session, batch=batch, keys=keys,
                                layout=PrintLayout.from_settings(settings), actor=CLI_ACTOR)
            _write_private(out, sheet.pdf)  # before the commit: no batch without its file
            letters = (write_mailers(session, settings=settings, batch_id=batch.id, out=mailers)
                       if mailers is not None and batch.id is not None
                       and waiting_for_mailer(sheet.printed) else 0)
            session.commit()
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    typer.echo(f"print batch {batch.id}: {len(sheet.printed)} cards in {out}")
    if mailers is not None:
        typer.echo(f"{letters} mailers in {mailers}")


def _write_private(path: Path, data: bytes) -> None:
    """The sheet shows residents' names and faces: only its owner may read it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
