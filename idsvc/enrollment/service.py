"""Enrollment: take an application, examine documents, photograph, approve or reject."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlmodel import Session, select

from idsvc.audit.service import record
from idsvc.cards import lifecycle, mailing
from idsvc.cards import service as cards
from idsvc.centres.service import get_centre
from idsvc.clock import end_of_local_day, local_today, start_of_local_day, utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.enrollment.models import Application, DocumentCheck
from idsvc.enrollment.photo import PhotoLimits, normalise_portrait
from idsvc.enrollment.policy import DocumentType, Policy
from idsvc.enrollment.rules import (
    CheckedDocument,
    Missing,
    PointsTally,
    missing_requirements,
    tally,
)
from idsvc.enrollment.schemas import ApplicationCreate
from idsvc.errors import Conflict, Forbidden, Invalid, NotFound
from idsvc.residents import service as residents
from idsvc.residents.models import Resident
from idsvc.residents.schemas import PersonalData
from idsvc.rows import Columns
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission, can
from idsvc.staff.service import actor_of

# Rows for bulk work (idsvc.rows): an import stores thousands per batch.
APPLICATION_ROWS = Columns(Application, skip=())
DOCUMENT_ROWS = Columns(DocumentCheck)


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Duplicate:
    resident_id: str
    card_numbers: list[str]
    pending_application_ids: list[str]


@dataclass(frozen=True)
class ApplicationState:
    """An application as the clerk sees it: decrypted details and what is still missing."""

    application: Application
    person: PersonalData
    documents: list[DocumentCheck]
    has_photo: bool
    duplicate: Duplicate | None
    missing: list[Missing]
    points: PointsTally
    age: int
    card_number: str | None


def _pending_ids(session: Session, resident_id: str) -> list[str]:
    statement = select(Application.id).where(Application.resident_id == resident_id,
                                             Application.status == ApplicationStatus.PENDING)
    return list(session.exec(statement))


def find_duplicate(session: Session, *, resident_id: str, match_key: str) -> Duplicate | None:
    """Another person with the same normalised name and birth date who holds or seeks a card."""
    for other in residents.residents_matching(session, match_key=match_key,
                                              exclude_id=resident_id):
        duplicate = Duplicate(other.id, cards.card_numbers_of(session, other.id),
                              _pending_ids(session, other.id))
        if duplicate.card_numbers or duplicate.pending_application_ids:
            return duplicate
    return None


def holders_matching(session: Session, match_keys: Collection[str]) -> dict[str, str]:
    """`find_duplicate` for many records at once (an import batch): for each match key,
    a resident with it who holds a card or has a pending application."""
    matching = residents.match_keys_of(session, match_keys)
    if not matching:
        return {}
    seeking = set(session.exec(select(Application.resident_id).where(
        Application.resident_id.in_(matching),  # type: ignore[attr-defined]
        Application.status == ApplicationStatus.PENDING)))
    holding = cards.holding_cards(session, matching)
    return {key: resident_id for resident_id, key in matching.items()
            if resident_id in holding or resident_id in seeking}


def create_application(session: Session, *, data: ApplicationCreate, staff: Staff,
                       keys: MasterKey) -> Application:
    person = PersonalData.model_validate(data.model_dump(exclude={"centre_id"}))
    if data.centre_id is not None:
        get_centre(session, data.centre_id)
    resident = residents.create_resident(session, data=person, keys=keys)
    duplicate = find_duplicate(session, resident_id=resident.id, match_key=resident.match_key)
    application = Application(
        id=uuid.uuid4().hex, resident_id=resident.id,
        centre_id=data.centre_id if data.centre_id is not None else staff.centre_id,
        status=ApplicationStatus.PENDING,
        possible_duplicate_of=duplicate.resident_id if duplicate else None,
        created_by=staff.id, created_at=utcnow())
    session.add(application)
    session.flush()
    record(session, actor=actor_of(staff), action="application.create",
           subject_type="application", subject_id=application.id,
           details={"resident_id": resident.id, "possible_duplicate": duplicate is not None})
    return application


def get_application(session: Session, application_id: str, *,
                    for_update: bool = False) -> Application:
    """The application; `for_update` locks it, so two clerks cannot decide it twice."""
    application = session.get(Application, application_id, with_for_update=for_update)
    if application is None:
        raise NotFound("No such application.", code="application_not_found")
    return application


def _require_pending(application: Application) -> None:
    if application.status != ApplicationStatus.PENDING:
        raise Conflict(f"The application is already {application.status}.",
                       code="application_closed")


def _documents(session: Session, application_id: str) -> list[DocumentCheck]:
    statement = (select(DocumentCheck).where(DocumentCheck.application_id == application_id)
                 .order_by(DocumentCheck.id))  # type: ignore[arg-type]
    return list(session.exec(statement))


def document_kind(policy: Policy, document_type: str) -> DocumentType:
    """The policy's entry for a document the clerk checked; unknown types are refused."""
    kind = policy.document(document_type)
    if kind is None:
        raise Invalid("Unknown document type; see GET /api/v1/policy/documents.",
                      code="unknown_document_type")
    return kind


def record_document(session: Session, *, application: Application, document_type: str,
                    staff: Staff, policy: Policy) -> DocumentCheck:
    _require_pending(application)
    kind = document_kind(policy, document_type)
    if any(c.document_type == document_type for c in _documents(session, application.id)):
        raise Conflict("This document type is already recorded for the application.",
                       code="document_already_recorded")
    check = DocumentCheck(application_id=application.id, document_type=kind.code,
                          category=kind.category, points=kind.points, has_photo=kind.has_photo,
                          has_birth_date=kind.has_birth_date, checked_by=staff.id,
                          checked_at=utcnow())
    session.add(check)
    session.flush()
    record(session, actor=actor_of(staff), action="application.document",
           subject_type="application", subject_id=application.id,
           details={"document_type": kind.code, "points": kind.points})
    return check


def remove_document(session: Session, *, application: Application, check_id: int,
                    staff: Staff) -> None:
    _require_pending(application)
    check = session.get(DocumentCheck, check_id)
    if check is None or check.application_id != application.id:
        raise NotFound("No such document check on this application.", code="document_not_found")
    session.delete(check)
    session.flush()
    record(session, actor=actor_of(staff), action="application.document_remove",
           subject_type="application", subject_id=application.id,
           details={"document_type": check.document_type})


def set_documents(session: Session, *, application: Application,
                  document_types: Sequence[str], staff: Staff, policy: Policy) -> None:
    """Make the examined documents exactly `document_types` (the clerk's checked boxes):
    record the new ones and remove the rest, each audited as on its own."""
    current = {check.document_type: check for check in _documents(session, application.id)}
    for code in document_types:
        if code not in current:
            record_document(session, application=application, document_type=code,
                            staff=staff, policy=policy)
    for code, check in current.items():
        if code not in document_types and check.id is not None:
            remove_document(session, application=application, check_id=check.id, staff=staff)


def store_photo(session: Session, *, application: Application, upload: bytes, staff: Staff,
                keys: MasterKey, limits: PhotoLimits) -> None:
    """Turn the upload into a card portrait (idsvc.enrollment.photo), keep it, audit it."""
    _require_pending(application)
    portrait = normalise_portrait(upload, limits)
    resident = residents.get_resident(session, application.resident_id)
    residents.set_photo(resident, portrait_jpeg=portrait, keys=keys)
    session.add(resident)
    session.flush()
    record(session, actor=actor_of(staff), action="application.photo",
           subject_type="application", subject_id=application.id)


def update_application(session: Session, *, application: Application,
                       changes: dict[str, object], staff: Staff, keys: MasterKey) -> None:
    """Correct the applicant's details (a typo, a longer address) while still pending."""
    _require_pending(application)
    resident = residents.get_resident(session, application.resident_id)
    current = residents.read_personal_data(resident, keys)
    updated = residents.apply_changes(current, changes)
    residents.update_personal_data(session, resident=resident, data=updated, keys=keys)
    record(session, actor=actor_of(staff), action="application.update",
           subject_type="application", subject_id=application.id,
           details={"fields": sorted(changes)})


def _duplicate_shown(session: Session, staff: Staff, duplicate: Duplicate,
                     application: Application) -> None:
    """Showing a possible duplicate reveals another resident's card: audit that read too."""
    record(session, actor=actor_of(staff), action="resident.duplicate_shown",
           subject_type="resident", subject_id=duplicate.resident_id,
           details={"application_id": application.id})


def approval_gaps(*, person: PersonalData, documents: Sequence[CheckedDocument],
                  has_photo: bool, policy: Policy, today: date) -> list[Missing]:
    """What blocks approval that needs no database: the rules of DESIGN §7, and text the
    card cannot print (duplicates are checked against the other records)."""
    missing = missing_requirements(person=person, documents=documents, has_photo=has_photo,
                                   policy=policy, today=today)
    unprintable = cards.unprintable_field(person)
    if unprintable is not None:
        missing.append(Missing("text_not_printable",
                               f"The {unprintable.replace('_', ' ')} cannot be printed on the "
                               "card: characters no card font has, or too long to fit."))
    return missing


def application_state(session: Session, *, application: Application, keys: MasterKey,
                      policy: Policy, staff: Staff, today: date,
                      audit: bool = True) -> ApplicationState:
    """Decrypt the application for a clerk and list what still blocks approval."""
    resident = residents.get_resident(session, application.resident_id)
    person = residents.read_personal_data(resident, keys)
    checks = _documents(session, application.id)
    pending = application.status == ApplicationStatus.PENDING
    duplicate = (find_duplicate(session, resident_id=resident.id, match_key=resident.match_key)
                 if pending else None)
    missing = approval_gaps(person=person, documents=checks,
                            has_photo=resident.photo is not None, policy=policy, today=today)
    if duplicate is not None and not application.duplicate_override:
        missing.append(Missing("possible_duplicate",
                               "Another resident with the same name and date of birth holds "
                               "or has applied for a card; check it is not the same person."))
    if audit:
        record(session, actor=actor_of(staff), action="application.read",
               subject_type="application", subject_id=application.id)
        if duplicate is not None:
            _duplicate_shown(session, staff, duplicate, application)
    return ApplicationState(
        application=application, person=person, documents=checks,
        has_photo=resident.photo is not None, duplicate=duplicate,
        missing=missing if pending else [], points=tally(checks), age=person.age_on(today),
        card_number=cards.card_number_for_application(session, application.id))


def approve(session: Session, *, application: Application, staff: Staff,
            override_duplicate: bool, note: str | None,
            context: cards.IssueContext, delivery: str = "desk") -> cards.Card:
    """Issue the card if every rule holds; otherwise refuse with every missing requirement.

    `delivery` "mail" issues it in the post (idsvc.cards.mailing): not valid until the
    holder activates it, and only to a mailable address."""
    _require_pending(application)
    if override_duplicate:
        if not can(staff.role, Permission.OVERRIDE_DUPLICATE):
            raise Forbidden("Only a supervisor may approve despite a duplicate warning.",
                            code="override_not_allowed")
        if not note:
            raise Invalid("Say why the warning does not apply in `note`.", code="note_required")
        application.duplicate_override = True
    state = application_state(session, application=application, keys=context.keys,
                              policy=context.policy, staff=staff,
                              today=local_today(context.timezone), audit=False)
    if state.missing:
        raise Invalid("The application does not meet every requirement yet.",
                      code="requirements_not_met",
                      missing=[{"code": m.code, "message": m.message} for m in state.missing])
    resident = residents.get_resident(session, application.resident_id)
    if delivery == "mail":
        mailing.require_mailable(residents.read_personal_data(resident, context.keys))
    application.status = ApplicationStatus.APPROVED
    application.decided_by, application.decided_at = staff.id, utcnow()
    if note:
        application.decision_note = residents.seal_for(
            resident, context.keys, field=f"application:{application.id}:note",
            data=note.encode())
    session.add(application)
    record(session, actor=actor_of(staff), action="application.approve",
           subject_type="application", subject_id=application.id,
           details={"override_duplicate": application.duplicate_override})
    if delivery != "mail":
        return cards.issue_card(session, resident=resident, application_id=application.id,
                                context=context)
    card = cards.issue_card(session, resident=resident, application_id=application.id,
                            context=context, state=cards.CardState.MAILED)
    return lifecycle.hold_for_mail(session, card=card, actor=context.actor)


def reject(session: Session, *, application: Application, staff: Staff, reason: str,
           keys: MasterKey) -> Application:
    _require_pending(application)
    resident = residents.get_resident(session, application.resident_id)
    application.status = ApplicationStatus.REJECTED
    application.decided_by, application.decided_at = staff.id, utcnow()
    application.decision_note = residents.seal_for(
        resident, keys, field=f"application:{application.id}:note", data=reason.encode())
    session.add(application)
    session.flush()
    record(session, actor=actor_of(staff), action="application.reject",
           subject_type="application", subject_id=application.id)
    return application


def day_list(session: Session, *, staff: Staff, day: date, timezone: str, keys: MasterKey,
             policy: Policy) -> list[ApplicationState]:
    """The applications taken at the clerk's own centre on `day` (the city's calendar),
    oldest first, with what still blocks each: no search, no other centre. One audit
    event names them all; opening one is audited as a read of its own."""
    if staff.centre_id is None:
        return []
    statement = (select(Application)
                 .join(Resident, Resident.id == Application.resident_id)  # type: ignore[arg-type]
                 .where(Application.centre_id == staff.centre_id,
                        Application.created_at >= start_of_local_day(day, timezone),
                        Application.created_at < end_of_local_day(day, timezone),
                        Resident.wrapped_key != b"")  # crypto-shredded: nothing left to show
                 .order_by(Application.created_at))  # type: ignore[arg-type]
    applications = list(session.exec(statement))
    states = [application_state(session, application=application, keys=keys, policy=policy,
                                staff=staff, today=day, audit=False)
              for application in applications]
    record(session, actor=actor_of(staff), action="application.list",
           subject_type="centre", subject_id=str(staff.centre_id),
           details={"day": day.isoformat(), "applications": [a.id for a in applications]})
    return states


def application_photo(session: Session, *, application: Application, keys: MasterKey,
                      staff: Staff) -> bytes | None:
    """The processed portrait of an application, as the card will print it; an audited read."""
    resident = residents.get_resident(session, application.resident_id)
    portrait = residents.read_photo(resident, keys)
    record(session, actor=actor_of(staff), action="application.photo_read",
           subject_type="application", subject_id=application.id)
    return portrait
