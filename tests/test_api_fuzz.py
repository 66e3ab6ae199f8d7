"""Schemathesis against the app's own OpenAPI: every operation, every staff role and a
partner key; no 5xx, and no response that breaks the schema the operation declares.

Requests go through the ASGI app in-process (no server), inside the test's rolled-back
transaction. Every call gets fresh tokens, so a fuzzed logout or key revocation cannot
turn the rest of the run into a string of 401s. Hypothesis is derandomized and the number
of examples per operation bounded, so CI sees the same cases on every run.

The operations are walked here rather than with `schemathesis.pytest.from_fixture`, whose
lazy loader reads `Function._nodeid`, which pytest 9 no longer has.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Connection
from sqlmodel import select

from idsvc.db import make_sessionmaker
from idsvc.staff.models import Staff
from idsvc.staff.service import open_session
from tests.conftest import ROLES
from tests.factories import enroll, enroll_and_approve, partner_headers

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def credentials(client, admin, connection: Connection):
    """A function returning fresh headers for each staff role and for a partner API key."""
    partner = partner_headers(client, admin, "law_enforcement", name="Fuzz partner")
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")

    def fresh() -> list[dict[str, str]]:
        headers = []
        with sessions() as session:
            for role in ROLES:
                staff = session.exec(select(Staff).where(Staff.username == str(role))).one()
                token, _ = open_session(session, staff=staff, kind="api",
                                        lifetime=timedelta(hours=1))
                headers.append({"Authorization": f"Bearer {token}"})
            session.commit()
        return [*headers, partner]

    return fresh


EXAMPLES = settings(max_examples=8, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


def fuzz_every_operation(app: FastAPI, credentials, path_parameters: dict[str, object]
                         ) -> dict[str, str]:
    """Fuzz each operation on its own with every credential; return each failure by label.

    A path parameter named in `path_parameters` is fixed to that value (a real object, so
    the operation gets past its 404); the others, and every body and query, are generated.
    """
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 50  # the whole API, not a schema that failed to load
    failures: dict[str, str] = {}
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        if path_parameters and not names & path_parameters.keys():
            continue  # nothing to aim at a real object: the first pass covered it
        fixed = {name: path_parameters[name] for name in names & path_parameters.keys()}

        @EXAMPLES
        @given(operation.as_strategy(path_parameters=fixed or None))
        def fuzz(case):
            for headers in credentials():
                case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    return failures


def report(failures: dict[str, str]) -> str:
    return "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


def test_no_operation_fails_or_breaks_its_schema(app, credentials):
    """Generated ids and numbers: mostly refusals, which must still be 4xx and well formed."""
    failures = fuzz_every_operation(app, credentials, {})
    assert not failures, report(failures)


def test_no_operation_on_real_objects_fails_or_breaks_its_schema(app, client, clerk, admin,
                                                                  credentials):
    """The same, aimed at a real card, application, partner and benefit."""
    card = enroll_and_approve(client, clerk)
    application = enroll(client, clerk, given_name="Pending")
    partner = client.post("/api/v1/partners", json={"name": "Fuzz museum", "kind": "cultural"},
                          headers=admin).json()
    benefit = client.post(f"/api/v1/partners/{partner['id']}/benefits", headers=admin, json={
        "name": "Free entry", "category": "culture", "limit": {"count": 1, "period": "year"},
    })
    assert benefit.status_code == 201, benefit.text
    failures = fuzz_every_operation(app, credentials, {
        "card_number": card["card_number"], "application_id": application["id"],
        "partner_id": partner["id"], "benefit_id": benefit.json()["id"]})
    assert not failures, report(failures)


def test_numbers_beyond_the_database_range_are_refused_not_500(client, admin, clerk):
    """What the fuzzer first found: an id past the column's range failed in the driver."""
    for huge in (2**31, 2**63, 2**70):
        r = client.post("/api/v1/staff", headers=admin, json={
            "username": "huge", "password": "a long enough password", "role": "clerk",
            "centre_id": huge})
        assert r.status_code in (404, 422), r.text
        assert set(r.json()) >= {"error", "message"}
        r = client.get(f"/api/v1/applications/{huge}", headers=clerk)
        assert r.status_code in (404, 422), r.text
        assert set(r.json()) >= {"error", "message"}
    r = client.post("/api/v1/staff", headers=admin, json={
        "username": "huge", "password": "a long enough password", "role": "clerk",
        "centre_id": 2**70})
    assert r.status_code == 422 and r.json()["error"] == "out_of_range", r.text
