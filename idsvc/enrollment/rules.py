"""The approval rules of DESIGN §7 as a pure function: what is still missing?

Kept free of the database so each rule can be tested on its own and the
clerk sees every missing requirement at once, not one per attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from idsvc.enrollment.policy import Category, Policy
from idsvc.residents.schemas import PersonalData


@dataclass(frozen=True)
class Missing:
    code: str
    message: str


@dataclass(frozen=True)
class PointsTally:
    total: int
    identity: int
    residency: int
    has_photo_document: bool
    has_birth_date_document: bool


class CheckedDocument(Protocol):
    """A document type as policy lists it, or as a clerk's check recorded it."""

    category: str
    points: int
    has_photo: bool
    has_birth_date: bool


def tally(documents: Sequence[CheckedDocument]) -> PointsTally:
    return PointsTally(
        total=sum(d.points for d in documents),
        identity=sum(d.points for d in documents if d.category == Category.IDENTITY),
        residency=sum(d.points for d in documents if d.category == Category.RESIDENCY),
        has_photo_document=any(d.has_photo for d in documents),
        has_birth_date_document=any(d.has_birth_date for d in documents),
    )


def _document_gaps(documents: Sequence[CheckedDocument], policy: Policy) -> list[Missing]:
    points, need = tally(documents), policy.points
    gaps = []
    if points.identity < need.identity:
        gaps.append(Missing("identity_points",
                            f"Identity documents give {points.identity} of {need.identity} "
                            "points needed."))
    if points.residency < need.residency:
        gaps.append(Missing("residency_points",
                            f"Residency documents give {points.residency} of {need.residency} "
                            "points needed."))
    if points.total < need.total:
        gaps.append(Missing("total_points",
                            f"Documents give {points.total} of {need.total} points needed."))
    if not points.has_photo_document:
        gaps.append(Missing("photo_document", "No checked document carries a photo."))
    if not points.has_birth_date_document:
        gaps.append(Missing("birth_date_document",
                            "No checked document shows the date of birth."))
    return gaps


def _age_gaps(person: PersonalData, policy: Policy, today: date) -> list[Missing]:
    age = person.age_on(today)
    if age < policy.age.minimum:
        return [Missing("under_minimum_age",
                        f"Applicants must be at least {policy.age.minimum} years old.")]
    gaps = []
    if age <= policy.age.caretaker_until:
        if person.caretaker is None:
            gaps.append(Missing("caretaker_required",
                                f"Applicants aged {policy.age.minimum} to "
                                f"{policy.age.caretaker_until} enroll with a caretaker."))
        elif not (person.caretaker.card_number or person.caretaker.document_type):
            gaps.append(Missing("caretaker_identity",
                                "Record the caretaker's own card number or identity document."))
        if person.emergency_contact is None:
            gaps.append(Missing("emergency_contact_required",
                                "Applicants under "
                                f"{policy.age.caretaker_until + 1} must give an emergency "
                                "contact."))
    return gaps


def missing_requirements(*, person: PersonalData, documents: Sequence[CheckedDocument],
                         has_photo: bool, policy: Policy, today: date) -> list[Missing]:
    """Every requirement that blocks approval; empty when the application may be approved."""
    gaps = _age_gaps(person, policy, today) + _document_gaps(documents, policy)
    if not has_photo:
        gaps.append(Missing("photo_required", "Take or upload the applicant's photo."))
    return gaps
