"""Bulk enrollment: each row of a CSV file becomes a resident, an approved application and
an issued card, by the rules of the API.

Rows are committed in batches. The run's progress (`import_runs.last_line` and the
counts) is written in the same transaction as its batch, so after a crash or Ctrl-C
the committed rows and the progress agree, and running the same file again continues
after the last committed row: no row is ever imported twice.

A batch goes in three steps. Each row gets a card number and a status-list slot
(`Drawing`, one short transaction); worker processes then check, photograph, seal and
sign the rows (idsvc.bulk.preparation), while this process stores the batch before;
finally the batch is stored in one transaction (`store_batch`): the duplicate check
against earlier rows and records, every row's records written with one COPY per table,
and every row's audit events, one per action as a clerk's requests would leave them,
chained in one append. A refused row writes nothing but its line in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from idsvc.audit.service import Actor, Entry, append_entries, hold_chain, record
from idsvc.bulk.columns import Rejection
from idsvc.bulk.models import ImportRejection, ImportRun
from idsvc.bulk.preparation import (
    Job,
    Outcome,
    Prepared,
    Preparer,
    Preparers,
)
from idsvc.bulk.source import ImportSource, SourceRow
from idsvc.cards.service import CARD_ROWS, unused_numbers
from idsvc.centres.service import find_centre
from idsvc.clock import utcnow
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import active_signer, still_signing
from idsvc.enrollment.photo import PhotoLimits
from idsvc.enrollment.policy import Policy
from idsvc.enrollment.service import APPLICATION_ROWS, DOCUMENT_ROWS, holders_matching
from idsvc.errors import Conflict, Forbidden, NotFound
from idsvc.residents.service import RESIDENT_ROWS
from idsvc.rows import Columns, insert_rows
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission, can
from idsvc.staff.service import actor_of, find_staff
from idsvc.status.service import ENTRY_ROWS, SlotReserver, lock_lists, settle

DEFAULT_BATCH = 1000
_RETRIES = 3  # a batch whose number or slot a clerk's card took meanwhile is drawn again
REJECTIONS = Columns(ImportRejection)


@dataclass(frozen=True)
class ImportOptions:
    centre_code: str
    username: str
    allow_duplicates: bool = False
    batch_size: int = DEFAULT_BATCH
    workers: int = 0  # processes preparing rows (idsvc.bulk.preparation); 0: this one


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


class Drawing:
    """Card numbers and status slots for rows whose cards are signed before they are
    stored: remembered until `forget`, so two rows of this run never get the same one."""

    def __init__(self, *, list_size: int) -> None:
        self._slots = SlotReserver(size=list_size)
        self._numbers: set[str] = set()

    def jobs(self, sessions: sessionmaker[Session], rows: list[SourceRow]) -> list[Job]:
        with sessions() as session:
            numbers = unused_numbers(session, len(rows), taken=self._numbers)
            slots = self._slots.reserve(session, len(rows))
            session.commit()  # a status list opened for them exists before their cards
        self._numbers.update(numbers)
        return [Job(row, number, slot)
                for row, number, slot in zip(rows, numbers, slots, strict=True)]

    def forget(self, jobs: list[Job]) -> None:
        self._numbers.difference_update(job.number for job in jobs)
        self._slots.forget([job.slot for job in jobs])


def store_batch(session: Session, outcomes: list[Outcome], *, run: ImportRun, actor: Actor,
                kid: str) -> None:
    """Store a prepared batch and move the run's progress past it, in the caller's
    transaction. A row matching a resident who holds or seeks a card, in the database
    or earlier in the batch, is refused unless the run allows duplicates.

    Locks come first, in the order the desks take them: the signing key (so it cannot
    be rotated or declared compromised under the batch), the audit chain, the batch's
    status lists. Desks' audited actions wait for the batch's commit meanwhile.
    """
    if not still_signing(session, kid):
        raise Conflict("The signing key changed during the import (rotated, retired or "
                       "compromised); run the same command again to go on with the new key.",
                       code="signing_key_changed")
    prepared = [outcome for outcome in outcomes if isinstance(outcome, Prepared)]
    hold_chain(session)
    lock_lists(session, {row.job.slot.list_id for row in prepared})
    holders = holders_matching(session, {row.match_key for row in prepared})
    refused = [r for outcome in outcomes if not isinstance(outcome, Prepared)
               for r in outcome.rejections]
    stored: list[Prepared] = []
    applications, entries = [], []
    for row in prepared:
        other = holders.get(row.match_key)
        if other is not None and not run.allow_duplicates:
            refused.append(Rejection(
                row.line, "", "duplicate", "A resident with the same name and date of birth "
                "holds or has applied for a card (--allow-duplicates imports it)."))
            continue
        resident_id = row.application_values["resident_id"]
        holders.setdefault(row.match_key, resident_id)  # later rows of the batch see it
        duplicate = other is not None
        stored.append(row)
        applications.append(APPLICATION_ROWS.row(
            **row.application_values, possible_duplicate_of=other,
            duplicate_override=duplicate, decision_note=row.duplicate_note if duplicate else None))
        entries += [Entry.of(actor, "application.create", "application", row.application_id,
                             {"resident_id": resident_id, "possible_duplicate": duplicate}),
                    *row.document_entries, row.photo_entry,
                    Entry.of(actor, "application.approve", "application", row.application_id,
                             {"override_duplicate": duplicate}),
                    row.card_entry]
    insert_rows(session, RESIDENT_ROWS, [row.resident for row in stored])
    insert_rows(session, APPLICATION_ROWS, applications)
    insert_rows(session, DOCUMENT_ROWS, [d for row in stored for d in row.documents])
    insert_rows(session, ENTRY_ROWS, [row.status_entry for row in stored])
    insert_rows(session, CARD_ROWS, [row.card for row in stored])
    settle(session, {row.job.slot.list_id for row in stored})
    insert_rows(session, REJECTIONS, [REJECTIONS.row(run_id=run.id, line=r.line,
                                                     column_name=r.column, code=r.code,
                                                     message=r.message[:500])
                                      for r in sorted(refused, key=lambda r: r.line)])
    first_line, last_line = outcomes[0].job.row.line, outcomes[-1].job.row.line
    rejected = len({r.line for r in refused})
    entries.append(Entry.of(actor, "import.batch", "import_run", str(run.id), {
        "first_line": first_line, "last_line": last_line, "imported": len(stored),
        "rejected": rejected, "applications": [row.application_id for row in stored]}))
    append_entries(session, entries)
    run.last_line = last_line
    run.imported += len(stored)
    run.rejected += rejected
    run.updated_at = utcnow()
    session.add(run)


def _batches(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    batch: list[SourceRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Batch:
    rows: list[SourceRow]
    jobs: list[Job]
    outcomes: Callable[[], list[Outcome]]


def _preparer(importer: Importer, run: ImportRun, staff: Staff, session: Session) -> Preparer:
    settings = importer.settings
    assert run.id is not None
    return Preparer.of(signer=active_signer(session, keys_dir=settings.keys_dir),
                       keys=importer.keys, issuer=settings.issuer, timezone=settings.timezone,
                       policy=importer.policy, qr_max_version=settings.qr_max_version,
                       centre_id=run.centre_id, staff_id=staff.id, run_id=run.id,
                       photo_limits=PhotoLimits(max_bytes=settings.photo_max_bytes))


# What a desk's card may take while a batch is being signed: the batch is drawn again.
# PostgreSQL names the constraint; SQLite names its columns.
_TAKEN_CONSTRAINTS = frozenset({"pk_status_entries", "uq_cards_status_slot",
                                "uq_cards_number_in_use", "uq_cards_number_version"})
_TAKEN_COLUMNS = ("status_entries.list_id", "cards.status_list_id", "cards.number")
_RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock, serialization failure: try it again


def _constraint(error: IntegrityError) -> str | None:
    return getattr(getattr(error.orig, "diag", None), "constraint_name", None)


def _taken_meanwhile(error: IntegrityError) -> bool:
    constraint = _constraint(error)
    if constraint is not None:
        return constraint in _TAKEN_CONSTRAINTS
    message = str(error.orig)
    return message.startswith("UNIQUE constraint failed: ") and any(
        column in message for column in _TAKEN_COLUMNS)


def _store(importer: Importer, batch: _Batch, *, run: ImportRun, options: ImportOptions,
           drawing: Drawing, preparers: Preparers, kid: str) -> ImportRun:
    """Store one prepared batch: drawn and signed again if a desk's card took one of its
    numbers or slots meanwhile, tried again after a deadlock."""
    outcomes = batch.outcomes()
    for attempt in range(_RETRIES):
        try:
            with importer.sessions() as session:
                locked = _locked_run(session, run.id, last_line=run.last_line)  # type: ignore[arg-type]
                staff = _importer_staff(session, options.username)
                store_batch(session, outcomes, run=locked, actor=actor_of(staff), kid=kid)
                session.commit()
            drawing.forget(batch.jobs)
            return locked
        except IntegrityError as exc:
            if not _taken_meanwhile(exc):
                drawing.forget(batch.jobs)
                constraint = _constraint(exc)
                raise Conflict("The batch conflicts with another change to the database"
                               f"{f' ({constraint})' if constraint else ''}; nothing of it "
                               "was stored. Run the same command again.",
                               code="import_conflict") from None
            if attempt == _RETRIES - 1:
                drawing.forget(batch.jobs)
                raise Conflict("Desks kept taking this batch's card numbers or slots; run "
                               "the same command again.", code="import_conflict") from None
            drawing.forget(batch.jobs)
            batch.jobs = drawing.jobs(importer.sessions, batch.rows)
            outcomes = preparers.submit(batch.jobs)()
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) not in _RETRY_SQLSTATES or \
                    attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


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
    with importer.sessions() as session:
        preparer = _preparer(importer, run, _importer_staff(session, options.username), session)
    kid = preparer.kid
    drawing = Drawing(list_size=importer.settings.status_list_size)
    with Preparers(preparer, workers=options.workers) as preparers:
        waiting: _Batch | None = None
        for rows in _batches(source.rows_after(run.last_line), options.batch_size):
            jobs = drawing.jobs(importer.sessions, rows)
            batch = _Batch(rows, jobs, preparers.submit(jobs))  # prepared while we store
            if waiting is not None:
                run = _store(importer, waiting, run=run, options=options, drawing=drawing,
                             preparers=preparers, kid=kid)
                on_progress(run)
            waiting = batch
        if waiting is not None:
            run = _store(importer, waiting, run=run, options=options, drawing=drawing,
                         preparers=preparers, kid=kid)
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
