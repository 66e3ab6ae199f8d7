"""Enrollment routes: applications, document checks, photo, decision."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Response, UploadFile

from idsvc.cards.service import issue_context
from idsvc.clock import local_today
from idsvc.db import RowId, SessionDep
from idsvc.enrollment import service
from idsvc.enrollment.photo import PhotoLimits
from idsvc.enrollment.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    ApproveRequest,
    DocumentCheckCreate,
    DocumentCheckPublic,
    DocumentTypePublic,
    IssuedCard,
    LanguagePublic,
    MissingPublic,
    PossibleDuplicate,
    RejectRequest,
)
from idsvc.errors import PayloadTooLarge
from idsvc.languages import LANGUAGES
from idsvc.residents.schemas import PersonalDataChanges
from idsvc.runtime import Runtime, RuntimeDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

router = APIRouter(tags=["enrollment"])
public_router = APIRouter(tags=["enrollment"])
Enroller = Annotated[Staff, Depends(require(Permission.ENROLL))]
Approver = Annotated[Staff, Depends(require(Permission.APPROVE))]


def _public(session: SessionDep, runtime: Runtime, staff: Staff,
            application: service.Application) -> ApplicationPublic:
    state = service.application_state(session, application=application,
                                      keys=runtime.master_key, policy=runtime.policy,
                                      staff=staff, today=local_today(runtime.settings.timezone))
    points = state.points
    return ApplicationPublic(
        id=application.id, status=application.status, centre_id=application.centre_id,
        created_at=application.created_at, age=state.age,
        documents=[DocumentCheckPublic.model_validate(d, from_attributes=True)
                   for d in state.documents],
        points={"total": points.total, "identity": points.identity,
                "residency": points.residency},
        has_photo=state.has_photo,
        possible_duplicate=PossibleDuplicate(**asdict(state.duplicate))
        if state.duplicate else None,
        missing=[MissingPublic(code=m.code, message=m.message) for m in state.missing],
        card_number=state.card_number,
    )


@public_router.get("/languages")
def languages() -> list[LanguagePublic]:
    """Languages a resident may name as preferred (ISO 639-3), each in its own name."""
    return [LanguagePublic(code=code, name=name) for code, name in LANGUAGES.items()]


@router.get("/policy/documents")
def document_types(runtime: RuntimeDep, _: Enroller) -> list[DocumentTypePublic]:
    return [DocumentTypePublic.model_validate(d, from_attributes=True)
            for d in runtime.policy.documents]


@router.post("/applications", status_code=201)
def create_application(session: SessionDep, runtime: RuntimeDep, body: ApplicationCreate,
                       staff: Enroller) -> ApplicationPublic:
    application = service.create_application(session, data=body, staff=staff,
                                             keys=runtime.master_key)
    return _public(session, runtime, staff, application)


@router.get("/applications/{application_id}")
def read_application(session: SessionDep, runtime: RuntimeDep, application_id: str,
                     staff: Enroller) -> ApplicationPublic:
    return _public(session, runtime, staff, service.get_application(session, application_id))


@router.patch("/applications/{application_id}")
def update_application(session: SessionDep, runtime: RuntimeDep, application_id: str,
                       body: PersonalDataChanges, staff: Enroller) -> ApplicationPublic:
    application = service.get_application(session, application_id, for_update=True)
    service.update_application(session, application=application,
                               changes=body.model_dump(exclude_unset=True), staff=staff,
                               keys=runtime.master_key)
    return _public(session, runtime, staff, application)


@router.post("/applications/{application_id}/documents", status_code=201)
def record_document(session: SessionDep, runtime: RuntimeDep, application_id: str,
                    body: DocumentCheckCreate, staff: Enroller) -> DocumentCheckPublic:
    application = service.get_application(session, application_id, for_update=True)
    check = service.record_document(session, application=application,
                                    document_type=body.document_type, staff=staff,
                                    policy=runtime.policy)
    return DocumentCheckPublic.model_validate(check, from_attributes=True)


@router.delete("/applications/{application_id}/documents/{check_id}", status_code=204)
def remove_document(session: SessionDep, application_id: str, check_id: RowId,
                    staff: Enroller) -> Response:
    application = service.get_application(session, application_id, for_update=True)
    service.remove_document(session, application=application, check_id=check_id, staff=staff)
    return Response(status_code=204)


@router.put("/applications/{application_id}/photo")
async def upload_photo(session: SessionDep, runtime: RuntimeDep, application_id: str,
                       file: UploadFile, staff: Enroller) -> ApplicationPublic:
    limit = runtime.settings.photo_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"Photos may be at most {limit // (1024 * 1024)} MB.",
                              code="photo_too_large")
    application = service.get_application(session, application_id, for_update=True)
    service.store_photo(session, application=application, upload=data, staff=staff,
                        keys=runtime.master_key, limits=PhotoLimits(max_bytes=limit))
    return _public(session, runtime, staff, application)


@router.post("/applications/{application_id}/approve", status_code=201)
def approve(session: SessionDep, runtime: RuntimeDep, application_id: str,
            staff: Approver, body: ApproveRequest | None = None) -> IssuedCard:
    body = body or ApproveRequest()
    application = service.get_application(session, application_id, for_update=True)
    context = issue_context(session, settings=runtime.settings, keys=runtime.master_key,
                            policy=runtime.policy, actor=actor_of(staff), issued_by=staff.id,
                            centre_id=application.centre_id)
    card = service.approve(session, application=application, staff=staff,
                           override_duplicate=body.override_duplicate, note=body.note,
                           context=context, delivery=body.delivery)
    return IssuedCard(card_number=card.number, version=card.version, state=card.state,
                      issued_at=card.issued_at,
                      expires_at=card.expires_on, qr_has_photo=card.qr_has_photo,
                      application_id=application_id)


@router.post("/applications/{application_id}/reject")
def reject(session: SessionDep, runtime: RuntimeDep, application_id: str, body: RejectRequest,
           staff: Approver) -> ApplicationPublic:
    application = service.get_application(session, application_id, for_update=True)
    service.reject(session, application=application, staff=staff, reason=body.reason,
                   keys=runtime.master_key)
    return _public(session, runtime, staff, application)
