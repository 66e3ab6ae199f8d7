"""Bulk enrollment: each row of a CSV file becomes a resident, an approved application and
an issued card, through the same service functions and rules as the API.

Rows are committed in batches. The run's progress (`import_runs.last_line` and the
counts) is written in the same transaction as its batch, so after a crash or Ctrl-C
the committed rows and the progress agree, and running the same file again continues
after the last committed row: no row is ever imported twice. Within a batch each row
has its own savepoint, so a refused row leaves nothing behind and the rest go on.

What a batch shares to go faster, without changing a row's rules or records: its audit
events are appended together at its end (one lock, one insert; each row's events are
those of a clerk's requests), its cards draw their status-list slots from one
`SlotPool`, and a photo that already is a card portrait is kept rather than re-encoded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from idsvc.audit.service import appended_together, record
from idsvc.bulk.columns import (
    DOCUMENTS,
    PHOTO,
    Rejection,
    RowRejected,
    application_from,
    documents_of,
)
from idsvc.bulk.models import ImportRejection, ImportRun
from idsvc.bulk.photos import with_portraits
from idsvc.bulk.source import ImportSource, SourceRow
from idsvc.cards.service import IssueContext, issue_context
from idsvc.centres.service import find_centre
from idsvc.clock import utcnow
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.enrollment import service as enrollment
from idsvc.enrollment.photo import PhotoLimits, card_portrait
from idsvc.enrollment.policy import Policy
from idsvc.errors import Conflict, DomainError, Forbidden, NotFound
from idsvc.residents import service as residents
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission, can
from idsvc.staff.service import actor_of, find_staff
from idsvc.status.service import SlotPool

DEFAULT_BATCH = 500
# Where each unmet approval requirement points in the file.
_REQUIREMENT_COLUMNS = {
    "identity_points": DOCUMENTS, "residency_points": DOCUMENTS, "total_points": DOCUMENTS,
    "photo_document": DOCUMENTS, "birth_date_document": DOCUMENTS, "photo_required": PHOTO,
    "under_minimum_age": "date_of_birth", "caretaker_required": "caretaker_name",
    "caretaker_identity": "caretaker_card_number",
    "emergency_contact_required": "emergency_contact_name",
}
_ERROR_COLUMNS = {"unknown_document_type": DOCUMENTS, "document_already_recorded": DOCUMENTS,
                  "credential_too_large": "given_name"}


@dataclass(frozen=True)
class ImportOptions:
    centre_code: str
    username: str
    allow_duplicates: bool = False
    batch_size: int = DEFAULT_BATCH
    photo_workers: int = 0  # processes making the next rows' portraits (idsvc.bulk.photos)


@dataclass(frozen=True)
class Importer:
    """What an import needs besides the file: the database and the deployment's keys."""

    sessions: sessionmaker[Session]
    settings: Settings
    keys: MasterKey
    policy: Policy


def _importer_staff(session: Session, username: str) -> Staff:
    """An import approves cards in bulk and may override duplicate warnings: only a
    supervisor or an administrator may run one."""
    staff = find_staff(session, username)
    if staff is None or not staff.active:
        raise NotFound(f"No active staff account {username!r}.", code="staff_not_found")
    if not (can(staff.role, Permission.APPROVE)
            and can(staff.role, Permission.OVERRIDE_DUPLICATE)):
        raise Forbidden("Only a supervisor or an administrator may import.",
                        code="import_not_allowed")
    return staff


def start_run(session: Session, *, source: ImportSource, options: ImportOptions,
              staff: Staff) -> ImportRun:
    """The run for this file: a new one, or the unfinished one to resume."""
    centre = find_centre(session, code=options.centre_code)
    if centre is None or centre.id is None:
        raise NotFound(f"No service centre {options.centre_code!r}.", code="centre_not_found")
    run = find_run(session, source.sha256)
    if run is not None:
        if (run.centre_id, run.allow_duplicates) != (centre.id, options.allow_duplicates):
            raise Conflict("This file was started with another centre or duplicates setting; "
                           "resume it with the same options.", code="import_options_differ")
        return run
    now = utcnow()
    run = ImportRun(file_sha256=source.sha256, centre_id=centre.id, started_by=staff.id,
                    started_at=now, updated_at=now, rows_total=source.rows,
                    allow_duplicates=options.allow_duplicates)
    session.add(run)
    session.flush()
    record(session, actor=actor_of(staff), action="import.start", subject_type="import_run",
           subject_id=str(run.id), details={"sha256": source.sha256, "rows": source.rows,
                                            "centre": options.centre_code,
                                            "allow_duplicates": options.allow_duplicates})
    return run


def _locked_run(session: Session, run_id: int, *, last_line: int) -> ImportRun:
    """The run, locked; refused if another process moved it on meanwhile."""
    run = session.get(ImportRun, run_id, with_for_update=True, populate_existing=True)
    if run is None or run.finished_at is not None or run.last_line != last_line:
        raise Conflict("Another import of this file is running; wait for it to end.",
                       code="import_running")
    return run


def _rejections_of(error: DomainError, line: int) -> list[Rejection]:
    if error.code == "requirements_not_met":
        return [Rejection(line, _REQUIREMENT_COLUMNS.get(m["code"], ""), m["code"], m["message"])
                for m in error.details.get("missing", [])]
    column = _ERROR_COLUMNS.get(error.code, PHOTO if error.code.startswith("photo") else "")
    return [Rejection(line, column, error.code, error.message)]


def import_row(session: Session, row: SourceRow, *, staff: Staff, context: IssueContext,
               run: ImportRun, photo_limits: PhotoLimits) -> str:
    """Enroll, examine, photograph and approve one row, all or nothing; the application id.

    The same service calls, in the same order, as a clerk's requests to the API; only
    the photo intake runs first, so a refused photo leaves no savepoint to roll back.
    """
    if row.problem is not None and row.problem.column != PHOTO:
        raise RowRejected([row.problem])
    assert context.centre_id is not None
    data = application_from(row.cells, line=row.line, centre_id=context.centre_id)
    if row.problem is not None:  # the fields first, as a clerk's request would be checked
        raise RowRejected([row.problem])
    documents = documents_of(row.cells)
    try:
        portrait = card_portrait(row.photo_bytes(), photo_limits)
    except DomainError as exc:
        raise RowRejected(_rejections_of(exc, row.line)) from exc
    try:
        with session.begin_nested():
            application = enrollment.create_application(session, data=data, staff=staff,
                                                        keys=context.keys)
            # Held for the row: the session's identity map holds records weakly, and the
            # services below look the resident up by id several times.
            _resident = residents.get_resident(session, application.resident_id)
            duplicate = application.possible_duplicate_of is not None
            if duplicate and not run.allow_duplicates:
                raise RowRejected([Rejection(
                    row.line, "", "duplicate", "A resident with the same name and date of "
                    "birth holds or has applied for a card (--allow-duplicates imports it).")])
            enrollment.set_documents(session, application=application, document_types=documents,
                                     staff=staff, policy=context.policy)
            enrollment.store_portrait(session, application=application, portrait=portrait,
                                      staff=staff, keys=context.keys)
            enrollment.approve(
                session, application=application, staff=staff, override_duplicate=duplicate,
                note=(f"Import run {run.id}, line {row.line}: duplicate allowed by the import."
                      if duplicate else None),
                context=context)
    except DomainError as exc:
        raise RowRejected(_rejections_of(exc, row.line)) from exc
    return application.id


def import_batch(session: Session, rows: list[SourceRow], *, run: ImportRun, staff: Staff,
                 context: IssueContext, photo_limits: PhotoLimits) -> None:
    """Import `rows` and move the run's progress past them, in the caller's transaction.

    Every row's audit events are those of a clerk's requests, appended together at the
    end of the batch; a refused row's events go with its savepoint.
    """
    imported: list[str] = []
    rejected = 0
    slots = SlotPool(session, size=context.status_list_size)
    context = replace(context, slots=slots)
    with appended_together(session) as events:
        for row in rows:
            mark = len(events)
            slots.prepare()  # outside the row's savepoint (see SlotPool)
            try:
                imported.append(import_row(session, row, staff=staff, context=context, run=run,
                                           photo_limits=photo_limits))
            except RowRejected as exc:
                del events[mark:]
                rejected += 1
                session.add_all(ImportRejection(run_id=run.id, line=r.line,
                                                column_name=r.column, code=r.code,
                                                message=r.message[:500])
                                for r in exc.rejections)
        slots.settle()
        run.last_line = rows[-1].line
        run.imported += len(imported)
        run.rejected += rejected
        run.updated_at = utcnow()
        session.add(run)
        record(session, actor=actor_of(staff), action="import.batch",
               subject_type="import_run", subject_id=str(run.id),
               details={"first_line": rows[0].line, "last_line": run.last_line,
                        "imported": len(imported), "rejected": rejected,
                        "applications": imported})


def _batches(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    batch: list[SourceRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_import(importer: Importer, source: ImportSource, options: ImportOptions, *,
               on_progress: Callable[[ImportRun], None] = lambda run: None) -> ImportRun:
    """Import the file, or the rest of it after an interruption; the finished run.

    Each batch is one transaction that also records the progress: stop the process at
    any moment and the next call with the same file continues after the last commit.
    `on_progress` hears of the run as it starts (or resumes) and after every batch.
    """
    try:
        with importer.sessions() as session:
            staff = _importer_staff(session, options.username)
            run = start_run(session, source=source, options=options, staff=staff)
            session.commit()
    except IntegrityError as exc:  # another process started the same file a moment ago
        raise Conflict("Another import of this file is running; wait for it to end.",
                       code="import_running") from exc
    on_progress(run)
    if run.finished_at is not None:
        return run
    assert run.id is not None
    photo_limits = PhotoLimits(max_bytes=importer.settings.photo_max_bytes)
    rows_ahead = with_portraits(source.rows_after(run.last_line),
                                workers=options.photo_workers,
                                max_bytes=importer.settings.photo_max_bytes)
    for rows in _batches(rows_ahead, options.batch_size):
        with importer.sessions() as session:
            run = _locked_run(session, run.id, last_line=run.last_line)
            staff = _importer_staff(session, options.username)
            context = issue_context(session, settings=importer.settings, keys=importer.keys,
                                    policy=importer.policy, actor=actor_of(staff),
                                    issued_by=staff.id, centre_id=run.centre_id)
            import_batch(session, rows, run=run, staff=staff, context=context,
                         photo_limits=photo_limits)
            session.commit()
        on_progress(run)
    with importer.sessions() as session:
        run = _locked_run(session, run.id, last_line=run.last_line)
        staff = _importer_staff(session, options.username)
        run.finished_at = run.updated_at = utcnow()
        session.add(run)
        record(session, actor=actor_of(staff), action="import.finish",
               subject_type="import_run", subject_id=str(run.id),
               details={"imported": run.imported, "rejected": run.rejected})
        session.commit()
    return run


def find_run(session: Session, sha256: str) -> ImportRun | None:
    return session.exec(select(ImportRun).where(ImportRun.file_sha256 == sha256)).first()


def rejections(session: Session, run_id: int) -> list[Rejection]:
    """Every refused row of the run, over all its sessions, in file order."""
    statement = (select(ImportRejection).where(ImportRejection.run_id == run_id)
                 .order_by(ImportRejection.line, ImportRejection.id))  # type: ignore[arg-type]
    return [Rejection(r.line, r.column_name, r.code, r.message)
            for r in session.exec(statement)]
