"""Aggregate reports: right counts from seeded data, small counts hidden, same numbers in
JSON and CSV, date ranges, and only administrators and auditors may read them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta

import pytest

from idsvc.clock import utcnow
from idsvc.reports import service
from idsvc.reports.service import SMALL, WITHHELD, DateRange, Table, suppress
from tests.factories import enroll_and_approve, partner_headers

TODAY = utcnow().date()
THIS_WEEK = service.iso_week(TODAY)
THIS_MONTH = service.month_of(TODAY)


def _centre(client, admin, code: str) -> int:
    r = client.post("/api/v1/centres", json={"code": code, "name": f"{code.title()} centre"},
                    headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _issue(client, clerk, centre_id: int, count: int, first: int = 0) -> list[dict]:
    """`count` different residents (by birth date) approved at `centre_id`."""
    return [enroll_and_approve(client, clerk, centre_id=centre_id,
                               date_of_birth=(date(1970, 1, 1) + timedelta(days=first + i))
                               .isoformat())
            for i in range(count)]


def _row(report: dict, label: str) -> dict:
    return next(r for r in report["rows"] if r["label"] == label)


def _column(report: dict, period: str) -> int:
    return report["periods"].index(period)


@pytest.fixture
def two_centres(client, admin, clerk):
    north, south = _centre(client, admin, "NORTH"), _centre(client, admin, "SOUTH")
    cards = _issue(client, clerk, north, 10) + _issue(client, clerk, south, 2, first=100)
    return cards


def test_cards_issued_by_centre_of_the_approving_application(client, auditor, two_centres):
    report = client.get("/api/v1/reports/cards-issued", headers=auditor).json()
    week = _column(report, THIS_WEEK)
    assert len(report["periods"]) == 26 and report["periods"][-1] == THIS_WEEK
    north, south = _row(report, "North centre"), _row(report, "South centre")
    assert north["counts"][week] == 10 and north["total"] == 10
    assert south["counts"][week] == SMALL and south["total"] == SMALL
    assert all(n == 0 for i, n in enumerate(north["counts"]) if i != week)
    # 12 in all, but 12 - 10 would give the hidden cell back: withheld.
    assert report["totals"][week] == WITHHELD and report["total"] == WITHHELD


def test_csv_carries_exactly_the_json_numbers(client, admin, two_centres):
    as_json = client.get("/api/v1/reports/cards-issued", headers=admin).json()
    response = client.get("/api/v1/reports/cards-issued",
                          headers={**admin, "Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["label", *as_json["periods"], "total"]
    expected = [[r["label"], *map(str, r["counts"]), str(r["total"])] for r in as_json["rows"]]
    assert rows[1:-1] == expected
    assert rows[-1] == ["total", *map(str, as_json["totals"]), str(as_json["total"])]


def test_date_range_filters_and_bad_ranges_are_refused(client, auditor, two_centres):
    last_year = TODAY - timedelta(days=400)
    old = client.get(f"/api/v1/reports/cards-issued?from={last_year}&to="
                     f"{last_year + timedelta(days=20)}", headers=auditor).json()
    monday = last_year - timedelta(days=last_year.weekday())  # whole weeks only
    assert old["rows"] == [] and old["total"] == 0 and old["from"] == monday.isoformat()
    assert len(old["periods"]) in (3, 4)
    just_today = client.get(f"/api/v1/reports/cards-issued?from={TODAY}&to={TODAY}",
                            headers=auditor).json()
    assert just_today["periods"] == [THIS_WEEK]
    assert _row(just_today, "North centre")["counts"] == [10]
    reversed_range = client.get(f"/api/v1/reports/cards-issued?from={TODAY}"
                                f"&to={TODAY - timedelta(days=1)}", headers=auditor)
    assert reversed_range.status_code == 422
    assert reversed_range.json()["error"] == "invalid_range"
    assert client.get("/api/v1/reports/verifications?from=yesterday",
                      headers=auditor).status_code == 422


def test_verifications_by_partner_kind(client, admin, auditor, clerk):
    card = enroll_and_approve(client, clerk)
    bank = partner_headers(client, admin, kind="bank")
    police = partner_headers(client, admin, kind="law_enforcement")
    for headers, times in ((bank, 11), (police, 2)):
        for _ in range(times):
            r = client.post("/api/v1/verify", json={"card_number": card["card_number"]},
                            headers=headers)
            assert r.json()["result"] == "valid"
    report = client.get("/api/v1/reports/verifications", headers=auditor).json()
    month = _column(report, THIS_MONTH)
    assert len(report["periods"]) == 12 and report["periods"][-1] == THIS_MONTH
    assert _row(report, "bank")["counts"][month] == 11
    assert _row(report, "law_enforcement")["counts"][month] == SMALL
    assert report["totals"][month] == WITHHELD


def test_redemptions_one_count_for_the_api_list_and_the_report(client, admin, auditor, clerk):
    partner = client.post("/api/v1/partners", json={"name": "Museum", "kind": "cultural"},
                          headers=admin).json()
    key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
    headers = {"Authorization": f"Bearer {key['api_key']}"}
    benefit = client.post(f"/api/v1/partners/{partner['id']}/benefits",
                          json={"name": "Free entry"}, headers=admin).json()
    card = enroll_and_approve(client, clerk)
    r = client.post("/api/v1/redemptions", json={"benefit_id": benefit["id"],
                                                 "card_number": card["card_number"]},
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    listed = client.get("/api/v1/reports/redemptions", headers=auditor).json()
    assert listed == [{"partner_id": partner["id"], "partner_name": "Museum",
                       "benefit_id": benefit["id"], "benefit_name": "Free entry",
                       "month": THIS_MONTH, "count": SMALL}]
    as_csv = client.get("/api/v1/reports/redemptions", headers={**auditor,
                                                                "Accept": "text/csv"})
    assert [r["count"] for r in csv.DictReader(io.StringIO(as_csv.text))] == [SMALL]
    future = client.get("/api/v1/reports/redemptions?from=2999-01-01&to=2999-02-01",
                        headers=auditor)
    assert future.json() == []


@pytest.mark.parametrize("path", ["/api/v1/reports/cards-issued",
                                  "/api/v1/reports/verifications",
                                  "/api/v1/reports/redemptions"])
def test_only_administrators_and_auditors_read_reports(client, admin, auditor, clerk,
                                                       supervisor, path):
    assert client.get(path, headers=auditor).status_code == 200
    assert client.get(path, headers=admin).status_code == 200
    assert client.get(path, headers=clerk).status_code == 403
    assert client.get(path, headers=supervisor).status_code == 403
    partner = partner_headers(client, admin, kind="bank")
    assert client.get(path, headers=partner).status_code == 401
    assert client.get(path).status_code == 401


SPAN = DateRange(date(2026, 1, 1), date(2026, 2, 28))


def _table(counts: dict[tuple[str, str], int]) -> Table:
    table = Table(["2026-01", "2026-02"])
    for (row, period), n in counts.items():
        table.add(row, row, period, n)
    return table


def test_small_counts_hidden_and_zero_kept():
    report = suppress("t", SPAN, _table({("a", "2026-01"): 9, ("a", "2026-02"): 0,
                                         ("b", "2026-01"): 10, ("b", "2026-02"): 1}))
    a, b = report.rows
    assert a.cells == [SMALL, 0] and a.total == SMALL      # 9 is itself small
    assert b.cells == [10, SMALL] and b.total == WITHHELD  # 11 - 10 = the hidden 1
    assert report.column_totals == [WITHHELD, SMALL]       # 19 - 10 = the hidden 9


def test_a_total_with_two_hidden_cells_is_shown():
    report = suppress("t", SPAN, _table({("a", "2026-01"): 3, ("a", "2026-02"): 4,
                                         ("b", "2026-01"): 5, ("b", "2026-02"): 30,
                                         ("c", "2026-01"): 20, ("c", "2026-02"): 2}))
    a, b, c = report.rows
    assert a.cells == [SMALL, SMALL] and a.total == SMALL
    assert b.total == WITHHELD and c.total == WITHHELD
    # column 1 hides a and b (two cells): its total 28 is shown; column 2 hides a and c.
    assert report.column_totals == [28, 36]
    # two row totals withheld, none of the columns: the grand total is shown.
    assert report.total == 64


def test_grand_total_withheld_when_one_column_total_is_hidden():
    report = suppress("t", SPAN, _table({("a", "2026-01"): 50, ("a", "2026-02"): 5}))
    assert report.rows[0].total == WITHHELD
    assert report.column_totals == [50, SMALL]
    assert report.total == WITHHELD


@pytest.mark.parametrize(("since", "until", "bucket", "expected"), [
    (date(2026, 3, 4), date(2026, 3, 5), "week", (date(2026, 3, 2), date(2026, 3, 8))),
    (date(2026, 3, 2), date(2026, 3, 8), "week", (date(2026, 3, 2), date(2026, 3, 8))),
    (date(2026, 1, 15), date(2026, 2, 3), "month", (date(2026, 1, 1), date(2026, 2, 28))),
    (date(2025, 12, 31), date(2025, 12, 31), "month", (date(2025, 12, 1), date(2025, 12, 31))),
    (date(2024, 2, 10), date(2024, 2, 10), "month", (date(2024, 2, 1), date(2024, 2, 29))),
])
def test_asked_ranges_widen_to_whole_periods(since, until, bucket, expected):
    """Two ranges a few days apart count the same whole periods: subtracting one report
    from the other cannot give back the small count of those days."""
    default = DateRange(since, until, bucket)
    span = service.date_range(since, until, default=default)
    assert (span.since, span.until) == expected


def test_ranges_a_day_apart_give_the_same_counts(client, admin, auditor, two_centres):
    tomorrow = TODAY + timedelta(days=1)
    reports = [client.get(f"/api/v1/reports/cards-issued?from={since}&to={until}",
                          headers=auditor).json()
               for since, until in ((TODAY, TODAY), (TODAY, tomorrow),
                                    (TODAY - timedelta(days=1), TODAY))]
    assert all(r["rows"] == reports[0]["rows"] for r in reports if r["periods"] ==
               reports[0]["periods"])
    assert reports[0]["from"] == (TODAY - timedelta(days=TODAY.weekday())).isoformat()
