"""Clerk pages for enrollment: today's applications and the step-by-step wizard.

Each step saves through the same service functions as `/api/v1/applications...`, so a
rule lives in one place; the pages only turn forms into the API's shapes and back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from idsvc.cards.service import issue_context
from idsvc.clock import local_time, local_today
from idsvc.db import SessionDep
from idsvc.enrollment import service
from idsvc.enrollment.models import Application
from idsvc.enrollment.photo import PhotoLimits
from idsvc.enrollment.policy import Category, Policy
from idsvc.enrollment.rules import Missing
from idsvc.enrollment.schemas import ApplicationCreate, RejectRequest
from idsvc.errors import DomainError, Invalid, NotFound
from idsvc.languages import LANGUAGES
from idsvc.residents.schemas import PersonalData
from idsvc.runtime import Runtime, runtime_of
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission, can
from idsvc.staff.service import actor_of, supervisors_at
from idsvc.web import i18n
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import by_field, form_text, unknown_fields
from idsvc.web.templating import gettext_for, language_of, render

router = APIRouter(include_in_schema=False)
Enroller = Annotated[Staff, Depends(page_require(Permission.ENROLL))]
Approver = Annotated[Staff, Depends(page_require(Permission.APPROVE))]
Changes = [Depends(check_csrf)]

STEPS = ("details", "documents", "photo", "review")
Details = TypeVar("Details", bound=BaseModel)

# Form field -> where it goes in PersonalData. Nothing else is accepted (see unknown_fields).
_SIMPLE = ("given_name", "middle_name", "family_name", "name_order", "date_of_birth", "gender")
_GROUPS = {
    "address": ("kind", "care_of", "line1", "line2", "city", "postal_code"),
    "emergency": ("name", "relationship", "phone"),
    "caretaker": ("name", "relationship", "card_number", "document_type"),
    "contact": ("email", "phone"),
}
_GROUP_TARGET = {"address": "address", "emergency": "emergency_contact",
                 "caretaker": "caretaker", "contact": "contact"}
_FLAGS = ("veteran", "organ_donor")
_LANGUAGE_FIELDS = ("language_1", "language_2")
DETAIL_FIELDS = frozenset(
    {*_SIMPLE, *_FLAGS, *_LANGUAGE_FIELDS,
     *(f"{group}_{part}" for group, parts in _GROUPS.items() for part in parts)})


def missing_text(request: Request, gap: Missing, policy: Policy) -> str:
    """A blocking requirement in the page's language (the service's text is English)."""
    language = i18n.translations(language_of(request))
    gettext, ngettext = language.gettext, language.ngettext
    need, age = policy.points, policy.age
    texts = {
        "identity_points": ngettext("Identity documents must give at least %(n)s point.",
                                    "Identity documents must give at least %(n)s points.",
                                    need.identity) % {"n": need.identity},
        "residency_points": ngettext("Residency documents must give at least %(n)s point.",
                                     "Residency documents must give at least %(n)s points.",
                                     need.residency) % {"n": need.residency},
        "total_points": ngettext("All documents together must give at least %(n)s point.",
                                 "All documents together must give at least %(n)s points.",
                                 need.total) % {"n": need.total},
        "photo_document": gettext("At least one checked document must carry a photo."),
        "birth_date_document": gettext(
            "At least one checked document must show the date of birth."),
        "photo_required": gettext("Take or upload the applicant's photo."),
        "under_minimum_age": gettext("Applicants must be at least %(n)s years old.")
        % {"n": age.minimum},
        "caretaker_required": gettext("Applicants aged %(low)s to %(high)s enroll with a "
                                      "caretaker.") % {"low": age.minimum,
                                                       "high": age.caretaker_until},
        "caretaker_identity": gettext(
            "Record the caretaker's own card number or identity document."),
        "emergency_contact_required": gettext(
            "Applicants aged %(low)s to %(high)s must give an emergency contact.")
        % {"low": age.minimum, "high": age.caretaker_until},
        "text_not_printable": gettext(
            "A name or the emergency contact cannot be printed on the card: characters no "
            "card font has, or too long to fit."),
        "possible_duplicate": gettext(
            "Another resident with the same name and date of birth holds or has applied for "
            "a card; check it is not the same person."),
    }
    return texts.get(gap.code, gap.message)


# --- forms <-> PersonalData -------------------------------------------------------------

def person_input(form: FormData) -> dict[str, Any]:
    """The submitted details in the API's shape; empty optional groups are left out."""
    simple = {name: form_text(form, name) for name in _SIMPLE}
    data: dict[str, Any] = {name: value for name, value in simple.items() if value}
    for group, parts in _GROUPS.items():
        values = {part: form_text(form, f"{group}_{part}") for part in parts}
        filled = {part: value for part, value in values.items() if value}
        if group == "address" or set(filled) - {"kind"}:
            data[_GROUP_TARGET[group]] = filled
    data["preferred_languages"] = [code for code in (form_text(form, f) for f in _LANGUAGE_FIELDS)
                                   if code]
    for flag in _FLAGS:
        data[flag] = form.get(flag) == "yes"
    return data


def form_values(person: PersonalData) -> dict[str, str]:
    """A stored record as the form's field values (for going back to the details step)."""
    dumped = person.model_dump(mode="json")
    values = {name: str(dumped.get(name) or "") for name in _SIMPLE}
    for group, parts in _GROUPS.items():
        nested = dumped.get(_GROUP_TARGET[group]) or {}
        values.update({f"{group}_{part}": str(nested.get(part) or "") for part in parts})
    for field, code in zip(_LANGUAGE_FIELDS, person.preferred_languages, strict=False):
        values[field] = code
    values.update({flag: "yes" for flag in _FLAGS if dumped.get(flag)})
    return values


def _field_of(loc: tuple[int | str, ...]) -> str:
    """The form field a validation error belongs to."""
    if not loc:
        return "form"
    head = str(loc[0])
    if head == "preferred_languages":
        return "language_1"
    for group, target in _GROUP_TARGET.items():
        if head == target:
            if len(loc) > 1:
                return f"{group}_{loc[1]}"
            return "address_care_of" if group == "address" else f"{group}_name"
    return head


def field_errors(gettext: Callable[[str], str], exc: ValidationError) -> dict[str, str]:
    """One message per form field, in the page's language; submitted values never echoed."""
    messages = {
        "missing": gettext("This field is required."),
        "string_too_short": gettext("This field is required."),
        "string_too_long": gettext("This is too long."),
        "string_pattern_mismatch": gettext("Check the format of this field."),
        "date_from_datetime_parsing": gettext("Enter a date as year-month-day."),
        "date_parsing": gettext("Enter a date as year-month-day."),
        "date_type": gettext("Enter a date as year-month-day."),
        "enum": gettext("Choose one of the options."),
        "literal_error": gettext("Choose one of the options."),
    }

    def explain(error: ErrorDetails) -> tuple[str, str]:
        text = messages.get(error["type"]) or gettext("Check this field: %(reason)s") % {
            "reason": error["msg"].removeprefix("Value error, ")}
        return _field_of(tuple(error["loc"])), text

    return by_field(exc, explain)


def _refuse_unknown(request: Request, form: FormData, allowed: Iterable[str]) -> None:
    """Refuse a post carrying fields the form does not have; nothing of it is stored."""
    refused = unknown_fields(form, allowed)
    if refused:
        _ = gettext_for(request)
        raise Invalid(_("This form does not take these fields: %(names)s")
                      % {"names": ", ".join(refused)}, code="unknown_fields")


# --- shared context ---------------------------------------------------------------------

def _today(runtime: Runtime) -> date:
    return local_today(runtime.settings.timezone)


def _state(session: Session, runtime: Runtime, staff: Staff,
           application: Application) -> service.ApplicationState:
    return service.application_state(session, application=application, keys=runtime.master_key,
                                     policy=runtime.policy, staff=staff, today=_today(runtime))


def _wizard(request: Request, staff: Staff, step: str, application: Application | None,
            **context: Any) -> dict[str, Any]:
    return {"staff": staff, "step": step, "steps": STEPS, "application": application,
            "policy": runtime_of(request).policy, **context}


def _step_url(application_id: str, step: str) -> str:
    return f"/clerk/applications/{application_id}/{step}"


def _open_step(request: Request, session: Session, staff: Staff, application_id: str
               ) -> tuple[Application, service.ApplicationState] | Response:
    """The application and its state for a wizard step; a decided application has no
    steps left, so the answer is then a redirect to its summary."""
    application = service.get_application(session, application_id)
    if application.status != service.ApplicationStatus.PENDING:
        return RedirectResponse(_step_url(application.id, "review"), status_code=303)
    return application, _state(session, runtime_of(request), staff, application)


def _details_page(request: Request, staff: Staff, application: Application | None,
                  values: dict[str, str], errors: dict[str, str], *,
                  status_code: int = 200, refused: list[str] | None = None) -> Response:
    policy = runtime_of(request).policy
    caretaker_documents = [(d.code, d.name) for d in policy.documents
                           if d.category == Category.IDENTITY]
    return render(request, "clerk/details.html", _wizard(
        request, staff, "details", application, form=values, errors=errors,
        languages=LANGUAGES, caretaker_documents=caretaker_documents, refused=refused or []),
        status_code=status_code)


async def _posted_details(request: Request, staff: Staff, application: Application | None,
                          schema: type[Details]) -> Details | Response:
    """The posted details as `schema`, or the details form again with what to fix."""
    form = await request.form()
    values = {name: form_text(form, name) for name in DETAIL_FIELDS}
    refused = unknown_fields(form, DETAIL_FIELDS)
    if refused:
        return _details_page(request, staff, application, values, {}, status_code=422,
                             refused=refused)
    try:
        return schema.model_validate(person_input(form))
    except ValidationError as exc:
        return _details_page(request, staff, application, values,
                             field_errors(gettext_for(request), exc), status_code=422)


# --- dashboard --------------------------------------------------------------------------

@router.get("/clerk/")
def dashboard(request: Request, session: SessionDep, staff: Enroller) -> Response:
    """Today's applications at the clerk's own centre: no search, no other centre."""
    runtime = runtime_of(request)
    zone = runtime.settings.timezone
    states = service.day_list(session, staff=staff, day=_today(runtime), timezone=zone,
                              keys=runtime.master_key, policy=runtime.policy)
    rows = [{"application": state.application, "state": state,
             "at": local_time(state.application.created_at, zone),
             "missing": [missing_text(request, m, runtime.policy) for m in state.missing]}
            for state in states]
    return render(request, "clerk/dashboard.html", {"staff": staff, "rows": rows})


# --- step 1: personal details -----------------------------------------------------------

@router.get("/clerk/applications/new")
def new_application(request: Request, staff: Enroller) -> Response:
    return _details_page(request, staff, None,
                         {"address_kind": "street", "name_order": "given_first", "gender": "U"},
                         {})


@router.post("/clerk/applications/new", dependencies=Changes)
async def create_application(request: Request, session: SessionDep,
                             staff: Enroller) -> Response:
    data = await _posted_details(request, staff, None, ApplicationCreate)
    if isinstance(data, Response):
        return data
    application = service.create_application(session, data=data, staff=staff,
                                             keys=runtime_of(request).master_key)
    return RedirectResponse(_step_url(application.id, "documents"), status_code=303)


@router.get("/clerk/applications/{application_id}/details")
def edit_details(request: Request, session: SessionDep, application_id: str,
                 staff: Enroller) -> Response:
    step = _open_step(request, session, staff, application_id)
    if isinstance(step, Response):
        return step
    application, state = step
    return _details_page(request, staff, application, form_values(state.person), {})


@router.post("/clerk/applications/{application_id}/details", dependencies=Changes)
async def save_details(request: Request, session: SessionDep, application_id: str,
                       staff: Enroller) -> Response:
    application = service.get_application(session, application_id, for_update=True)
    person = await _posted_details(request, staff, application, PersonalData)
    if isinstance(person, Response):
        return person
    # Every field of the form replaces the stored one (an emptied optional group clears it).
    service.update_application(session, application=application,
                               changes=person.model_dump(), staff=staff,
                               keys=runtime_of(request).master_key)
    return RedirectResponse(_step_url(application.id, "documents"), status_code=303)


# --- step 2: documents ------------------------------------------------------------------

@router.get("/clerk/applications/{application_id}/documents")
def documents(request: Request, session: SessionDep, application_id: str,
              staff: Enroller, saved: bool = False) -> Response:
    step = _open_step(request, session, staff, application_id)
    if isinstance(step, Response):
        return step
    application, state = step
    runtime = runtime_of(request)
    checked = {check.document_type for check in state.documents}
    document_gaps = [gap for gap in state.missing if gap.code in _DOCUMENT_GAPS]
    return render(request, "clerk/documents.html", _wizard(
        request, staff, "documents", application, state=state, checked=checked, saved=saved,
        gaps={code: missing_text(request, Missing(code, code), runtime.policy)
              for code in _DOCUMENT_GAPS},
        open_gaps={gap.code for gap in document_gaps}))


# The requirements the documents step shows (and its script re-checks as boxes change).
_DOCUMENT_GAPS = ("identity_points", "residency_points", "total_points", "photo_document",
                  "birth_date_document")


@router.post("/clerk/applications/{application_id}/documents", dependencies=Changes)
async def save_documents(request: Request, session: SessionDep, application_id: str,
                         staff: Enroller) -> Response:
    """Record the boxes now checked and remove the ones unchecked: the points are recounted
    by the service, which is the truth the next page shows."""
    application = service.get_application(session, application_id, for_update=True)
    form = await request.form()
    _refuse_unknown(request, form, ("document", "go"))
    service.set_documents(session, application=application,
                          document_types=[code for code in form.getlist("document")
                                          if isinstance(code, str)],
                          staff=staff, policy=runtime_of(request).policy)
    if form.get("go") == "next":
        return RedirectResponse(_step_url(application.id, "photo"), status_code=303)
    return RedirectResponse(_step_url(application.id, "documents") + "?saved=1",
                            status_code=303)


# --- step 3: photo ----------------------------------------------------------------------

def _photo_page(request: Request, staff: Staff, application: Application, has_photo: bool,
                *, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "clerk/photo.html", _wizard(
        request, staff, "photo", application, has_photo=has_photo, error=error,
        max_mb=runtime_of(request).settings.photo_max_bytes // (1024 * 1024)),
        status_code=status_code)


@router.get("/clerk/applications/{application_id}/photo")
def photo(request: Request, session: SessionDep, application_id: str,
          staff: Enroller) -> Response:
    step = _open_step(request, session, staff, application_id)
    if isinstance(step, Response):
        return step
    application, state = step
    return _photo_page(request, staff, application, state.has_photo)


@router.post("/clerk/applications/{application_id}/photo", dependencies=Changes)
async def upload_photo(request: Request, session: SessionDep, application_id: str,
                       staff: Enroller) -> Response:
    application = service.get_application(session, application_id, for_update=True)
    runtime = runtime_of(request)
    form = await request.form()
    upload = form.get("file")
    _refuse_unknown(request, form, ("file",))
    gettext = gettext_for(request)
    limit = runtime.settings.photo_max_bytes
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid("No file was sent.", code="photo_missing")
        data = await upload.read(limit + 1)
        service.store_photo(session, application=application, upload=data, staff=staff,
                            keys=runtime.master_key, limits=PhotoLimits(max_bytes=limit))
    except DomainError as exc:
        has_photo = service.application_photo(session, application=application,
                                              keys=runtime.master_key, staff=staff) is not None
        return _photo_page(request, staff, application, has_photo,
                           error=_photo_refusal(gettext, exc, limit),
                           status_code=exc.status_code)
    return RedirectResponse(_step_url(application.id, "photo"), status_code=303)


def _photo_refusal(gettext: Callable[[str], str], exc: DomainError, limit: int) -> str:
    """Why the photo was refused, in the page's language."""
    smallest = PhotoLimits()
    texts = {
        "photo_missing": gettext("Choose a photo file or take one with the camera."),
        "photo_too_large": gettext("The photo file is too large: at most %(mb)s MB.")
        % {"mb": limit // (1024 * 1024)},
        "photo_unsupported": gettext("The photo must be a JPEG, PNG or WebP image."),
        "photo_unreadable": gettext("The photo file is damaged or incomplete and cannot be "
                                    "read."),
        "photo_too_small": gettext("The photo is too small: at least %(width)s by "
                                   "%(height)s pixels are needed.")
        % {"width": smallest.min_width, "height": smallest.min_height},
        "photo_too_many_pixels": gettext("The photo has too many pixels."),
        "photo_animated": gettext("Animated images cannot be used as a photo."),
    }
    return texts.get(exc.code, exc.message)


@router.get("/clerk/applications/{application_id}/photo.jpg")
def photo_file(request: Request, session: SessionDep, application_id: str,
               staff: Enroller) -> Response:
    """The processed portrait (3:4 crop, no metadata) the server made from the upload."""
    application = service.get_application(session, application_id)
    portrait = service.application_photo(session, application=application,
                                         keys=runtime_of(request).master_key, staff=staff)
    if portrait is None:
        _ = gettext_for(request)
        raise NotFound(_("No photo yet."), code="photo_not_found")
    return Response(portrait, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


# --- step 4: review, approve, reject ----------------------------------------------------

def _review_page(request: Request, session: Session, staff: Staff,
                 application: Application, *, error: str | None = None,
                 status_code: int = 200) -> Response:
    runtime = runtime_of(request)
    state = _state(session, runtime, staff, application)
    policy_names = {d.code: d.name for d in runtime.policy.documents}
    return render(request, "clerk/review.html", _wizard(
        request, staff, "review", application, state=state, person=state.person,
        languages=LANGUAGES, document_names=policy_names, error=error,
        missing=[missing_text(request, m, runtime.policy) for m in state.missing],
        blocked_by_duplicate_only=[m.code for m in state.missing] == ["possible_duplicate"],
        may_override=can(staff.role, Permission.OVERRIDE_DUPLICATE),
        may_decide=can(staff.role, Permission.APPROVE),
        supervisors=supervisors_at(session, staff.centre_id) if state.duplicate else []),
        status_code=status_code)


@router.get("/clerk/applications/{application_id}/review")
def review(request: Request, session: SessionDep, application_id: str,
           staff: Enroller) -> Response:
    return _review_page(request, session, staff, service.get_application(session, application_id))


@router.post("/clerk/applications/{application_id}/approve", dependencies=Changes)
async def approve(request: Request, session: SessionDep, application_id: str,
                  staff: Approver) -> Response:
    application = service.get_application(session, application_id, for_update=True)
    form = await request.form()
    _refuse_unknown(request, form, ("override_duplicate", "note", "delivery"))
    runtime = runtime_of(request)
    note = form_text(form, "note")[:500] or None
    context = issue_context(session, settings=runtime.settings, keys=runtime.master_key,
                            policy=runtime.policy, actor=actor_of(staff), issued_by=staff.id,
                            centre_id=application.centre_id)
    try:
        card = service.approve(session, application=application, staff=staff,
                               override_duplicate=form.get("override_duplicate") == "yes",
                               note=note, context=context,
                               delivery="mail" if form.get("delivery") == "mail" else "desk")
    except DomainError as exc:
        gettext = gettext_for(request)
        texts = {"note_required": gettext("Say why the warning does not apply."),
                 "override_not_allowed": gettext(
                     "Only a supervisor may approve despite a duplicate warning."),
                 "requirements_not_met": gettext(
                     "The application does not meet every requirement yet."),
                 "address_not_mailable": gettext(
                     "Cards are mailed to street addresses only: hand this one over at the "
                     "desk.")}
        return _review_page(request, session, staff, application,
                            error=texts.get(exc.code, exc.message),
                            status_code=exc.status_code)
    return RedirectResponse(f"/clerk/cards/{card.number}", status_code=303)


@router.post("/clerk/applications/{application_id}/reject", dependencies=Changes)
async def reject(request: Request, session: SessionDep, application_id: str,
                 staff: Approver) -> Response:
    application = service.get_application(session, application_id, for_update=True)
    form = await request.form()
    _refuse_unknown(request, form, ("reason",))
    try:
        body = RejectRequest.model_validate({"reason": form_text(form, "reason")})
    except ValidationError:
        _ = gettext_for(request)
        return _review_page(request, session, staff, application,
                            error=_("Give the reason for the rejection (at most 500 characters)."),
                            status_code=422)
    service.reject(session, application=application, staff=staff, reason=body.reason,
                   keys=runtime_of(request).master_key)
    return RedirectResponse(_step_url(application.id, "review"), status_code=303)
