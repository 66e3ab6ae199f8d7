"""The approval rules, one by one, without a database."""

from __future__ import annotations

from datetime import date
from importlib.resources import files

import pytest

from idsvc.enrollment.policy import PolicyError, load_policy, parse_policy
from idsvc.enrollment.rules import missing_requirements
from idsvc.residents.schemas import PersonalData
from tests.factories import applicant

POLICY = load_policy()
TODAY = date(2026, 11, 23)


def person(**overrides) -> PersonalData:
    return PersonalData.model_validate(applicant(**overrides))


def docs(*codes: str):
    return [POLICY.document(code) for code in codes]


def codes(**kwargs) -> set[str]:
    defaults = {"person": person(), "documents": docs("passport", "utility_bill"),
                "has_photo": True, "policy": POLICY, "today": TODAY}
    return {m.code for m in missing_requirements(**{**defaults, **kwargs})}


def test_complete_application_has_nothing_missing():
    assert codes() == set()


def test_driver_licence_alone_lacks_residency():
    assert codes(documents=docs("driver_licence")) == {"residency_points"}


def test_three_identity_points_from_two_documents_count():
    assert codes(documents=docs("birth_certificate", "student_id", "utility_bill")) == set()


def test_exactly_ten_today_may_enroll_with_caretaker():
    ten_today = person(date_of_birth="2016-11-23",
                       caretaker={"name": "Ana", "relationship": "aunt", "card_number":
                                  "123456789012"})
    assert codes(person=ten_today) == set()
    nine = person(date_of_birth="2016-11-24")
    assert codes(person=nine) == {"under_minimum_age"}


def test_fourteen_today_needs_no_caretaker():
    assert codes(person=person(date_of_birth="2012-11-23", emergency_contact=None)) == set()


def test_caretaker_needs_own_identity():
    minor = person(date_of_birth="2014-01-01",
                   caretaker={"name": "Ana", "relationship": "aunt"})
    assert codes(person=minor) == {"caretaker_identity"}


def test_every_gap_is_listed_at_once():
    minor = person(date_of_birth="2014-01-01", emergency_contact=None)
    assert codes(person=minor, documents=[], has_photo=False) == {
        "caretaker_required", "emergency_contact_required", "identity_points",
        "residency_points", "total_points", "photo_document", "birth_date_document",
        "photo_required"}


def test_shipped_policy_is_valid_and_lists_no_status_documents():
    assert POLICY.points.total == 4
    names = " ".join(d.code + " " + d.name for d in POLICY.documents).lower()
    for word in ("visa", "green card", "permanent resident", "social security"):
        assert word not in names


@pytest.mark.parametrize(("text", "problem"), [
    ("not toml [", "not valid TOML"),
    ("[[documents]]\ncode='a_doc'\nname='A'\ncategory='identity'\npoints=3\n", "residency"),
    ("[points]\ntotal=2\nidentity=3\nresidency=1\n[[documents]]\ncode='xx'\nname='X'\n"
     "category='identity'\npoints=1\n", "exceed"),
    ("surprise=1\n[[documents]]\ncode='xx'\nname='X'\ncategory='identity'\npoints=1\n",
     "surprise"),
])
def test_bad_policy_files_are_refused_with_the_reason(text, problem):
    with pytest.raises(PolicyError, match=problem):
        parse_policy(text, source="city.toml")


def test_policy_file_from_disk(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[points]\ntotal = 5\n" + _documents_only())
    assert load_policy(path).points.total == 5


def _documents_only() -> str:
    text = files("idsvc.enrollment").joinpath("default_policy.toml").read_text()
    return text[text.index("[[documents]]"):]
