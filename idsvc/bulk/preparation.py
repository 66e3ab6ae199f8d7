"""Preparing imported rows: everything a row needs except the database, in worker processes.

Each row goes through the same rules and functions as a clerk's requests: the API's
input model, the document policy, the approval rules, photo intake, signing and
sealing. What needs the database (the duplicate check, drawing card numbers and status
slots, storing) stays with the importer (idsvc.bulk.importer), which draws each row's
number and slot before sending it here, because both are signed into its credential.

A prepared row is its records as table rows (idsvc.rows) and its audit entries, all
sealed and signed; the importer adds what depends on the other rows and the database
(is it a duplicate?) and stores the batch in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from cryptography.hazmat.primitives import serialization

from idsvc.audit.service import Actor, Entry
from idsvc.bulk.columns import (
    DOCUMENTS,
    PHOTO,
    Rejection,
    RowRejected,
    application_from,
    documents_of,
)
from idsvc.bulk.source import SourceRow
from idsvc.cards.service import CARD_ROWS, CardState, Signing, credential_field, sign_card
from idsvc.clock import local_date, utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import Signer
from idsvc.enrollment.photo import PhotoLimits, card_portrait_and_face
from idsvc.enrollment.policy import DocumentType, Policy
from idsvc.enrollment.service import (
    DOCUMENT_ROWS,
    ApplicationStatus,
    approval_gaps,
    document_kind,
)
from idsvc.errors import DomainError, Unavailable
from idsvc.residents.schemas import PersonalData
from idsvc.residents.service import PHOTO_FIELD, RESIDENT_ROWS, seal_record
from idsvc.status.service import ENTRY_ROWS, Slot, Status

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
class Preparer:
    """What preparing a run's rows needs, sent once to each worker process."""

    keys: MasterKey = field(repr=False)
    issuer: str
    timezone: str
    policy: Policy
    qr_max_version: int
    kid: str
    # PKCS#8 DER: key objects cannot be sent to another process
    signing_key: bytes = field(repr=False)
    centre_id: int
    staff_id: str
    run_id: int
    photo_limits: PhotoLimits

    @classmethod
    def of(cls, *, signer: Signer, **fields: Any) -> Preparer:
        der = signer.private_key.private_bytes(serialization.Encoding.DER,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())
        return cls(kid=signer.kid, signing_key=der, **fields)

    @property
    def actor(self) -> Actor:
        return Actor("staff", self.staff_id)

    def signing(self) -> Signing:
        key = serialization.load_der_private_key(self.signing_key, password=None)
        return Signing(self.issuer, self.timezone, Signer(self.kid, key),  # type: ignore[arg-type]
                       self.policy, self.qr_max_version)


@dataclass(frozen=True)
class Job:
    """One row to prepare, with the card number and status slot drawn for it."""

    row: SourceRow
    number: str
    slot: Slot


@dataclass(frozen=True)
class Prepared:
    """A row ready to store. The application row and two of its events depend on
    whether the importer finds it a duplicate, so it builds them (`application_values`,
    `duplicate_note`); everything else is final."""

    line: int
    job: Job
    match_key: str
    resident: tuple[Any, ...]
    application_id: str
    application_values: dict[str, Any]
    duplicate_note: bytes  # sealed, used only when an allowed duplicate is imported
    documents: list[tuple[Any, ...]]
    document_entries: list[Entry]
    photo_entry: Entry
    card: tuple[Any, ...]
    card_entry: Entry
    status_entry: tuple[Any, ...]


@dataclass(frozen=True)
class Refused:
    line: int
    job: Job
    rejections: list[Rejection]


Outcome = Prepared | Refused


def _rejections_of(error: DomainError, line: int) -> list[Rejection]:
    if error.code == "requirements_not_met":
        return [Rejection(line, _REQUIREMENT_COLUMNS.get(m["code"], ""), m["code"], m["message"])
                for m in error.details.get("missing", [])]
    column = _ERROR_COLUMNS.get(error.code, PHOTO if error.code.startswith("photo") else "")
    return [Rejection(line, column, error.code, error.message)]


class RowPreparation:
    """Prepares rows with one Preparer's keys and rules (in a worker, or in-process)."""

    def __init__(self, preparer: Preparer) -> None:
        self.preparer = preparer
        self._signing = preparer.signing()

    def prepare(self, job: Job) -> Outcome:
        try:
            return self._prepare(job)
        except RowRejected as exc:
            return Refused(job.row.line, job, exc.rejections)
        except DomainError as exc:
            return Refused(job.row.line, job, _rejections_of(exc, job.row.line))

    def _prepare(self, job: Job) -> Prepared:
        """The checks of a clerk's requests, in their order: the fields, the photo, the
        documents, approval; then issuance."""
        row, p = job.row, self.preparer
        if row.problem is not None and row.problem.column != PHOTO:
            raise RowRejected([row.problem])
        data = application_from(row.cells, line=row.line, centre_id=p.centre_id)
        if row.problem is not None:  # the fields first, as a clerk's request would be checked
            raise RowRejected([row.problem])
        portrait, face = card_portrait_and_face(row.photo_bytes(), p.photo_limits)
        person = PersonalData.model_validate(data.model_dump(exclude={"centre_id"}))
        kinds: list[DocumentType] = []
        for code in documents_of(row.cells):
            kind = document_kind(p.policy, code)
            if any(known.code == kind.code for known in kinds):
                raise RowRejected([Rejection(
                    row.line, DOCUMENTS, "document_already_recorded",
                    "This document type is already recorded for the application.")])
            kinds.append(kind)
        now = utcnow()
        gaps = approval_gaps(person=person, documents=kinds, has_photo=True, policy=p.policy,
                             today=local_date(now, p.timezone))
        if gaps:
            raise RowRejected([Rejection(row.line, _REQUIREMENT_COLUMNS.get(m.code, ""),
                                         m.code, m.message) for m in gaps])
        signed = sign_card(person=person, face=face, number=job.number, version=1,
                           slot=job.slot, now=now, signing=self._signing)
        resident_id, application_id, card_id = (uuid.uuid4().hex for _ in range(3))
        record = seal_record(data=person, keys=p.keys, resident_id=resident_id)
        note = f"Import run {p.run_id}, line {row.line}: duplicate allowed by the import."
        actor = p.actor
        return Prepared(
            line=row.line, job=job, match_key=record.match_key,
            resident=RESIDENT_ROWS.row(
                id=resident_id, match_key=record.match_key, wrapped_key=record.wrapped_key,
                personal_data=record.personal_data,
                photo=record.seal(PHOTO_FIELD, portrait), created_at=now, updated_at=now),
            application_id=application_id,
            application_values={
                "id": application_id, "resident_id": resident_id, "centre_id": p.centre_id,
                "status": ApplicationStatus.APPROVED.value, "created_by": p.staff_id,
                "created_at": now, "decided_by": p.staff_id, "decided_at": now},
            duplicate_note=record.seal(f"application:{application_id}:note", note.encode()),
            documents=[DOCUMENT_ROWS.row(
                application_id=application_id, document_type=kind.code,
                category=kind.category.value, points=kind.points, has_photo=kind.has_photo,
                has_birth_date=kind.has_birth_date, checked_by=p.staff_id, checked_at=now)
                for kind in kinds],
            document_entries=[Entry.of(actor, "application.document", "application",
                                       application_id,
                                       {"document_type": kind.code, "points": kind.points})
                              for kind in kinds],
            photo_entry=Entry.of(actor, "application.photo", "application", application_id),
            card=CARD_ROWS.row(
                id=card_id, number=job.number, version=1, resident_id=resident_id,
                application_id=application_id, state=CardState.ACTIVE.value, issued_at=now,
                expires_on=signed.expires_on, status_list_id=job.slot.list_id,
                status_idx=job.slot.idx, kid=p.kid, qr_has_photo=signed.has_photo,
                credential=record.seal(credential_field(card_id), signed.text.encode()),
                issued_by=p.staff_id, centre_id=p.centre_id, issue_reason="new"),
            card_entry=Entry.of(actor, "card.issue", "card", card_id,
                                {"reason": "new", "number": job.number, "version": 1,
                                 "kid": p.kid, "qr_photo": signed.has_photo}),
            status_entry=ENTRY_ROWS.row(list_id=job.slot.list_id, idx=job.slot.idx,
                                            status=Status.VALID.value),
        )


_worker: RowPreparation | None = None


def _start_worker(preparer: Preparer) -> None:
    global _worker
    _worker = RowPreparation(preparer)


def _prepare_in_worker(jobs: list[Job]) -> list[Outcome]:
    assert _worker is not None, "the pool's initializer sets it"
    return [_worker.prepare(job) for job in jobs]


class Preparers:
    """Rows prepared by `workers` other processes, or in this one (0). `submit` hands a
    batch over and returns how to wait for it, so the importer stores one batch while
    the next is being prepared. A worker that dies (killed, out of memory) stops the
    import with `import_worker_failed` rather than leaving it waiting."""

    def __init__(self, preparer: Preparer, *, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._here: RowPreparation | None = None
        if workers > 0:
            # spawn: a fresh interpreter, not a copy of this one's database connections
            self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                             initializer=_start_worker, initargs=(preparer,))
        else:
            self._here = RowPreparation(preparer)

    def submit(self, jobs: list[Job]) -> Callable[[], list[Outcome]]:
        here = self._here
        if here is not None:
            return lambda: [here.prepare(job) for job in jobs]
        assert self._pool is not None
        size = max(1, len(jobs) // (8 * self._workers))
        pending = [self._pool.submit(_prepare_in_worker, jobs[start : start + size])
                   for start in range(0, len(jobs), size)]

        def outcomes() -> list[Outcome]:
            try:
                return [outcome for part in pending for outcome in part.result()]
            except BrokenProcessPool as exc:
                raise Unavailable("A process preparing rows stopped (killed, or out of "
                                  "memory); nothing of its batch was stored. Run the same "
                                  "command again.", code="import_worker_failed") from exc
        return outcomes

    def __enter__(self) -> Preparers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
